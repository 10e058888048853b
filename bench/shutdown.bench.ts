import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killIfRunning, launchService, waitForExit, type Launcher } from '../test/app/service-process.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * `npm run bench -- shutdown`: how long `npm start` takes from a stop signal to its exit
 * (and its redis-server's), for the ways operators stop it. Median of a few runs each.
 */
const RUNS = 3;

interface Pattern {
  readonly metric: string;
  readonly launcher: Launcher;
  /** Sends the stop; may first take something away (Redis) to time a stop without it. */
  stop(launched: { pid: number; servicePid: number; redisPid: number }): Promise<void>;
}

const PATTERNS: readonly Pattern[] = [
  { metric: 'SIGTERM to the service → exit', launcher: 'service', stop: async ({ servicePid }) => void process.kill(servicePid, 'SIGTERM') },
  { metric: 'SIGINT to the group (bootstrap + service) → exit', launcher: 'bootstrap', stop: async ({ pid }) => void process.kill(-pid, 'SIGINT') },
  {
    metric: 'SIGTERM with Redis already gone → exit',
    launcher: 'service',
    stop: async ({ servicePid, redisPid }) => {
      process.kill(redisPid, 'SIGKILL');
      await waitForExit(redisPid, 2000);
      process.kill(servicePid, 'SIGTERM');
    },
  },
];

async function timeOnce(pattern: Pattern): Promise<{ startMs: number; stopMs: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'vocalis-bench-stop-'));
  const launchedAt = performance.now();
  const proc = launchService(pattern.launcher, dataDir);
  let redisPid: number | undefined;
  try {
    await proc.ready;
    const startMs = performance.now() - launchedAt;
    redisPid = await proc.redisPid();
    const servicePid = proc.servicePid();
    const signalledAt = performance.now();
    await pattern.stop({ pid: proc.pid, servicePid, redisPid });
    await proc.exited;
    await waitForExit(redisPid, 5000);
    return { startMs, stopMs: performance.now() - signalledAt };
  } finally {
    proc.kill();
    killIfRunning(redisPid);
    await rm(dataDir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const suite: BenchSuite = {
  name: 'shutdown: stop signal → process and Redis gone',
  async run() {
    const figures: BenchFigure[] = [];
    const starts: number[] = [];
    for (const pattern of PATTERNS) {
      const stops: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const { startMs, stopMs } = await timeOnce(pattern);
        starts.push(startMs);
        stops.push(stopMs);
      }
      figures.push({ metric: `${pattern.metric} (median of ${RUNS})`, value: median(stops), unit: 'ms', target: '< 10 000 (the deadline)' });
    }
    figures.push({ metric: `start → "Vocalis is running" (median of ${starts.length})`, value: median(starts), unit: 'ms' });
    return figures;
  },
};
export default suite;

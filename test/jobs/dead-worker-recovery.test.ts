import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { RecoveredRun } from '../../src/jobs/dead-worker-recovery.ts';
import type { FineTuneJobData } from '../../src/jobs/finetune-job.ts';
import type { FineTuneQueue } from '../../src/jobs/finetune-queue.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { jobData, makeQueue, makeWorker, RunOutcomes, sleep } from './support.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/long-lock-worker.ts', import.meta.url));
/** BullMQ's defaults, as in production: stall detection alone would take 30-60 s. */
const PRODUCTION_TIMINGS = { lockDuration: 30_000, stalledInterval: 30_000 };

interface WorkerProcess {
  readonly child: ChildProcess;
  /** Resolves when the process has written `line` (or already had). */
  said(line: string): Promise<void>;
}

async function spawnWorker(url: string): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', FIXTURE], {
    env: { ...process.env, REDIS_URL: url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen = new Set<string>();
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    seen.add(line);
    for (const waiter of waiters.filter((w) => w.line === line)) waiter.resolve();
  });
  const exited = once(child, 'exit').then(() => {
    throw new Error('the worker process ended early');
  });
  exited.catch(() => undefined);
  const said = (line: string) => (seen.has(line) ? Promise.resolve() : Promise.race([new Promise<void>((resolve) => waiters.push({ line, resolve })), exited]));
  await said('ready');
  return { child, said };
}

/** Enqueues `data` (unless already queued) and waits until the worker process has taken it. */
async function takenBy(worker: WorkerProcess, queue: FineTuneQueue, data: FineTuneJobData, enqueue: boolean): Promise<void> {
  if (enqueue) await queue.enqueue(data);
  await worker.said(`started ${data.jobId}`);
}

async function kill(worker: WorkerProcess): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = once(worker.child, 'exit');
  worker.child.kill('SIGKILL');
  await exited;
}

/** A test that fails waits this long at most for a run's outcome. */
const OUTCOME_MS = 15_000;

describe('runs of dead workers', () => {
  // A Redis per test: a run a test leaves behind must not be recovered by the next one.
  let server: TestRedis;
  beforeEach(async () => {
    server = await startTestRedis();
  });
  afterEach(async () => {
    await server.cleanup();
  });

  it('a run whose worker process was SIGKILLed goes back to the queue as soon as a worker starts', async () => {
    const queue = makeQueue(server.url);
    const events = new RunOutcomes(server.url);
    const dead = await spawnWorker(server.url);
    try {
      const data = jobData('voice-dead');
      await takenBy(dead, queue, data, true);
      await kill(dead);
      const recovered: RecoveredRun[] = [];
      const attempts: number[] = [];
      const started = Date.now();
      const worker = makeWorker(server.url, {
        ...PRODUCTION_TIMINGS,
        processor: async (_payload, ctx) => {
          attempts.push(ctx.attempt);
          return { metrics: {}, version: 2 };
        },
      });
      worker.on('recovered', (run) => recovered.push(run));
      try {
        assert.deepEqual(await events.waitForResult({ voiceId: 'voice-dead', jobId: data.jobId }, AbortSignal.timeout(OUTCOME_MS)), {
          metrics: {},
          version: 2,
        });
        assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
        assert.deepEqual(attempts, [1], 'handed back without using up an attempt');
        assert.equal(recovered.length, 1);
        assert.equal(recovered[0]?.deadWorker.pid, dead.child.pid);
        assert.equal(recovered[0]?.failing, false);
      } finally {
        await worker.close();
      }
    } finally {
      await kill(dead);
      await events.close();
      await queue.close();
    }
  });

  it('a run held by a worker whose process still runs is left alone', async () => {
    const queue = makeQueue(server.url);
    const alive = await spawnWorker(server.url);
    try {
      const data = jobData('voice-alive');
      await takenBy(alive, queue, data, true);
      const ran: string[] = [];
      const recovered: RecoveredRun[] = [];
      const worker = makeWorker(server.url, {
        ...PRODUCTION_TIMINGS,
        processor: async (payload) => {
          ran.push(payload.jobId);
          return { metrics: {}, version: 1 };
        },
      });
      worker.on('recovered', (run) => recovered.push(run));
      try {
        await worker.waitUntilReady();
        await sleep(1000);
        assert.deepEqual(recovered, []);
        assert.deepEqual(ran, []);
        assert.equal((await queue.position('voice-alive'))?.state, 'active');
      } finally {
        await worker.close();
      }
    } finally {
      await kill(alive);
      await queue.close();
    }
  });

  it('a run that kills its worker every time ends failed instead of crashing workers for ever', async () => {
    const queue = makeQueue(server.url, { attempts: 3 });
    const events = new RunOutcomes(server.url);
    const data = jobData('voice-poison');
    try {
      // Two worker processes in turn take the run and die with it (an OOM kill, say).
      const first = await spawnWorker(server.url);
      await takenBy(first, queue, data, true);
      await kill(first);
      const second = await spawnWorker(server.url);
      await takenBy(second, queue, data, false);
      await kill(second);
      const ran: string[] = [];
      const recovered: RecoveredRun[] = [];
      const worker = makeWorker(server.url, {
        ...PRODUCTION_TIMINGS,
        processor: async (payload) => {
          ran.push(payload.jobId);
          return { metrics: {}, version: 1 };
        },
      });
      worker.on('recovered', (run) => recovered.push(run));
      try {
        await assert.rejects(
          events.waitForResult({ voiceId: 'voice-poison', jobId: data.jobId }, AbortSignal.timeout(OUTCOME_MS)),
          /stalled more than allowable limit/,
        );
        assert.deepEqual(ran, [], 'the run did not start a third time');
        assert.equal(recovered.length, 1);
        assert.equal(recovered[0]?.failing, true);
      } finally {
        await worker.close();
      }
    } finally {
      await events.close();
      await queue.close();
    }
  });
});

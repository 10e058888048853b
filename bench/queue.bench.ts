import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bullKeys, purgeVoiceKeys } from '../src/jobs/bull-layout.ts';
import { EmbeddedRedis } from '../src/jobs/embedded-redis.ts';
import { FineTuneQueue } from '../src/jobs/finetune-queue.ts';
import { FineTuneWorker } from '../src/jobs/finetune-worker.ts';
import { createRedisConnection } from '../src/jobs/redis-connection.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * The fine-tune queue under revocation: a voice's purge is one Lua script, and Redis serves
 * nobody else while it runs. Measured on a queue as full as retention lets it get (1000
 * finished runs kept), with a real redis-server and real BullMQ: the script alone (how long
 * Redis is blocked) and the whole purgeVoice call (cancel, script, round trips).
 */
const KEPT_RUNS = 1000;
const PURGED_VOICES = 20;

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

const suite: BenchSuite = {
  name: 'queue',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'vocalis-bench-queue-'));
    const redis = new EmbeddedRedis({ dir: join(dir, 'redis') });
    await redis.start();
    const queue = new FineTuneQueue({ url: redis.url, keepFinishedCount: KEPT_RUNS });
    const inspector = createRedisConnection(redis.url, 'producer');
    const worker = new FineTuneWorker({ url: redis.url, concurrency: 16, processor: () => Promise.resolve({ metrics: {}, version: 1 }) });
    try {
      const total = KEPT_RUNS + 2 * PURGED_VOICES;
      const filled = performance.now();
      for (let i = 0; i < total; i++) await queue.enqueue({ jobId: `job_${i}`, voiceId: `v_bench_${i}`, userId: `u_bench_${i}`, backend: 'classic' });
      while ((await queue.counts()).completed < KEPT_RUNS) await new Promise((resolve) => setTimeout(resolve, 50));
      const fillSeconds = (performance.now() - filled) / 1000;
      const keys = await inspector.dbsize();
      const events = await inspector.xlen(`${bullKeys.base}events`);

      const script: number[] = [];
      const whole: number[] = [];
      // Voices whose runs are still kept: the newest ones.
      for (let i = total - 1; i >= total - PURGED_VOICES; i--) {
        const t = performance.now();
        await purgeVoiceKeys(inspector, `v_bench_${i}`);
        script.push(performance.now() - t);
      }
      for (let i = total - PURGED_VOICES - 1; i >= total - 2 * PURGED_VOICES; i--) {
        const t = performance.now();
        await queue.purgeVoice(`v_bench_${i}`);
        whole.push(performance.now() - t);
      }
      return [
        { metric: `queue filled (${total} runs through a worker, ${KEPT_RUNS} kept)`, value: fillSeconds, unit: 's' },
        { metric: 'Redis keys while purging', value: keys, unit: 'keys' },
        // Rebuilt without the voice's entries on every purge (XDEL would leave their bytes): most of the script's time.
        { metric: 'events stream entries', value: events, unit: 'entries' },
        { metric: 'purge script (Redis blocked), median', value: percentile(script, 0.5), unit: 'ms' },
        { metric: 'purge script (Redis blocked), max', value: percentile(script, 1), unit: 'ms' },
        { metric: 'purgeVoice (cancel + script), median', value: percentile(whole, 0.5), unit: 'ms' },
        { metric: 'purgeVoice (cancel + script), max', value: percentile(whole, 1), unit: 'ms' },
      ] satisfies BenchFigure[];
    } finally {
      await worker.close({ timeoutMs: 1000 });
      await queue.close();
      inspector.disconnect();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;

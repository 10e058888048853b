import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { bullKeys } from '../../src/jobs/bull-layout.ts';
import { bullJobId } from '../../src/jobs/finetune-job.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { eventually, jobData, makeQueue, makeWorker, RunOutcomes, sleep } from './support.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/hanging-worker.ts', import.meta.url));

describe('fine-tune recovery from crashes', () => {
  let server: TestRedis;
  beforeAll(async () => {
    server = await startTestRedis();
  });
  afterAll(async () => {
    await server.cleanup();
  });

  it('a run whose worker process was SIGKILLed is recovered and completed by another worker', async () => {
    const queue = makeQueue(server.url);
    const events = new RunOutcomes(server.url);
    const child = spawn(process.execPath, [FIXTURE], { env: { ...process.env, REDIS_URL: server.url }, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: child.stdout });
      const data = jobData('voice-crash');
      let enqueued = false;
      for await (const line of lines) {
        if (line === 'ready' && !enqueued) {
          enqueued = true;
          await queue.enqueue(data);
        }
        if (line === `started ${data.jobId}`) break;
      }
      assert.equal((await queue.position('voice-crash'))?.state, 'active');
      child.kill('SIGKILL');
      await once(child, 'exit');

      const attempts: number[] = [];
      const worker = makeWorker(server.url, {
        lockDuration: 1000,
        stalledInterval: 500,
        processor: async (_payload, ctx) => {
          attempts.push(ctx.attempt);
          return { metrics: { recovered: 1 }, version: 7 };
        },
      });
      try {
        const started = Date.now();
        const result = await events.waitForResult({ voiceId: 'voice-crash', jobId: data.jobId });
        assert.deepEqual(result, { metrics: { recovered: 1 }, version: 7 });
        assert.equal(attempts.length, 1);
        assert.ok(Date.now() - started < 8000, 'recovery took too long');
      } finally {
        await worker.close();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await events.close();
      await queue.close();
    }
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const)
    it(`Redis restarting (${signal}) under load loses no job and runs each exactly once`, async () => {
      const total = 50;
      const queue = makeQueue(server.url, { attempts: 5, backoffMs: 100 });
      const inspector = new Redis(server.url);
      inspector.on('error', () => {});
      const runs = new Map<string, number>();
      const worker = makeWorker(server.url, {
        // Longer than the outage, so a restart is not mistaken for a dead worker; short
        // enough that a run whose fetch reply died with Redis is recovered in seconds.
        lockDuration: 3000,
        stalledInterval: 1000,
        processor: async (data) => {
          runs.set(data.jobId, (runs.get(data.jobId) ?? 0) + 1);
          await sleep(15);
          return { metrics: {}, version: 1 };
        },
      });
      const jobs = Array.from({ length: total }, (_, i) => jobData(`voice-load-${signal}-${i}`));
      // Completion as recorded in Redis: a SIGKILL can eat the reply to a completion that
      // Redis did persist, so the worker's own 'completed' event is not the ground truth.
      const completedInRedis = async (): Promise<number> => {
        const scores = await Promise.all(jobs.map((data) => inspector.zscore(bullKeys.container('completed'), bullJobId(data))));
        return scores.filter((score) => score !== null).length;
      };
      let restarted = false;
      try {
        for (const [i, data] of jobs.entries()) {
          if (i === total / 2) {
            await eventually(async () => (await completedInRedis()) >= 10, 10_000, 'some progress before the restart');
            // SIGKILL: no shutdown flush; appendfsync always must have every acknowledged write on disk.
            await server.kill(signal);
            restarted = true;
            setTimeout(() => void server.start(), 300);
          }
          // While Redis is down, enqueue retries: a run id is idempotent, so a retry cannot double it.
          await retry(() => queue.enqueue(data));
        }
        assert.ok(restarted);
        await eventually(async () => (await completedInRedis()) === total, 30_000, `all ${total} jobs completed`);
        await sleep(500); // let any duplicate run show up
        for (const data of jobs) assert.equal(runs.get(data.jobId), 1, `job ${data.jobId} ran ${runs.get(data.jobId) ?? 0} times`);
        const counts = await queue.counts();
        assert.equal(counts.waiting + counts.active + counts.delayed + counts.failed, 0);
      } finally {
        inspector.disconnect();
        await worker.close();
        await queue.close();
      }
    });
});

async function retry<T>(action: () => Promise<T>, attempts = 50): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await action();
    } catch (error) {
      if (i >= attempts) throw error;
      await sleep(100);
    }
  }
}

describe('fine-tune worker shutdown', () => {
  let server: TestRedis;
  beforeAll(async () => {
    server = await startTestRedis();
  });
  afterAll(async () => {
    await server.cleanup();
  });

  it('close() with a timeout aborts the run and hands it back without using an attempt', async () => {
    const queue = makeQueue(server.url, { attempts: 1 });
    const events = new RunOutcomes(server.url);
    let startedResolve!: () => void;
    const started = new Promise<void>((resolve) => (startedResolve = resolve));
    const first = makeWorker(server.url, {
      processor: (_data, ctx) => {
        startedResolve();
        return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('interrupted'))));
      },
    });
    try {
      const data = jobData('voice-shutdown');
      await queue.enqueue(data);
      await started;
      const closing = Date.now();
      await first.close({ timeoutMs: 200 });
      assert.ok(Date.now() - closing < 3000);
      assert.equal((await queue.position('voice-shutdown'))?.state, 'waiting');
      const attempts: number[] = [];
      const second = makeWorker(server.url, {
        processor: async (_payload, ctx) => {
          attempts.push(ctx.attempt);
          return { metrics: {}, version: 3 };
        },
      });
      try {
        assert.deepEqual(await events.waitForResult({ voiceId: 'voice-shutdown', jobId: data.jobId }), { metrics: {}, version: 3 });
        assert.deepEqual(attempts, [1]);
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
      await events.close();
      await queue.close();
    }
  });
});

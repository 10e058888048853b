import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { Queue } from 'bullmq';
import { BULL_PREFIX, FINETUNE_QUEUE_NAME } from '../../src/jobs/bull-layout.ts';
import { CloneInProgressError } from '../../src/jobs/finetune-queue.ts';
import { bullJobId } from '../../src/jobs/finetune-job.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { deferred, eventually, jobData, makeQueue, makeWorker, RunOutcomes } from './support.ts';

describe('fine-tune queue: enqueue, results, retries', () => {
  let server: TestRedis;
  beforeAll(async () => {
    server = await startTestRedis();
  });
  afterAll(async () => {
    await server.cleanup();
  });

  it('runs a job and delivers its result', async () => {
    const queue = makeQueue(server.url);
    const events = new RunOutcomes(server.url);
    const data = jobData('voice-flow');
    const worker = makeWorker(server.url, {
      processor: async (payload, ctx) => {
        assert.deepEqual(payload, data);
        assert.equal(ctx.attempt, 1);
        return { metrics: { loss: 0.5 }, version: 2 };
      },
    });
    const completed: string[] = [];
    worker.on('completed', (ref) => completed.push(ref.jobId));
    try {
      const ref = await queue.enqueue(data);
      assert.deepEqual(ref, { voiceId: 'voice-flow', jobId: data.jobId });
      const result = await events.waitForResult({ voiceId: 'voice-flow', jobId: data.jobId });
      assert.deepEqual(result, { metrics: { loss: 0.5 }, version: 2 });
      await eventually(() => completed.length === 1, 2000, 'completed event');
      assert.deepEqual(completed, [data.jobId]);
      const counts = await queue.counts();
      assert.equal(counts.completed, 1);
      assert.equal(counts.active + counts.waiting + counts.delayed, 0);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });

  it('runs a job queued by the previous version (payload with `sampleId`), handing the processor only the declared fields', async () => {
    // The previous version queued `{ jobId, voiceId, userId, backend, sampleId }` under `<voiceId>.<jobId>`,
    // deduplicated by voice: add one exactly so, with BullMQ itself, as it would sit in Redis after an upgrade.
    const legacy = new Queue(FINETUNE_QUEUE_NAME, { connection: { url: server.url }, prefix: BULL_PREFIX });
    const events = new RunOutcomes(server.url);
    const data = jobData('voice-legacy');
    const seen: unknown[] = [];
    const worker = makeWorker(server.url, {
      processor: async (payload) => {
        seen.push(payload);
        return { metrics: {}, version: 1 };
      },
    });
    try {
      await legacy.add('finetune', { ...data, sampleId: 'c_0123456789abcdef' }, { jobId: bullJobId(data), deduplication: { id: data.voiceId }, attempts: 3 });
      assert.deepEqual(await events.waitForResult({ voiceId: data.voiceId, jobId: data.jobId }), { metrics: {}, version: 1 });
      assert.deepEqual(seen, [data]);
    } finally {
      await worker.close();
      await events.close();
      await legacy.close();
    }
  });

  it('refuses a second fine-tune of a voice while one is waiting or active, and allows one afterwards', async () => {
    const queue = makeQueue(server.url);
    const first = jobData('voice-dup');
    await queue.enqueue(first);
    // Waiting (no worker yet): refused.
    await assert.rejects(queue.enqueue(jobData('voice-dup')), (error: unknown) => {
      assert.ok(error instanceof CloneInProgressError);
      assert.equal(error.existingJobId, first.jobId);
      return true;
    });
    // Enqueueing the very same run again is idempotent, not an error.
    assert.deepEqual(await queue.enqueue(first), { voiceId: 'voice-dup', jobId: first.jobId });
    assert.deepEqual(await queue.position('voice-dup'), { state: 'waiting', position: 1, of: 1 });

    const started = deferred();
    const release = deferred();
    const worker = makeWorker(server.url, {
      processor: async () => {
        started.resolve();
        await release.promise;
        return { metrics: {}, version: 1 };
      },
    });
    const events = new RunOutcomes(server.url);
    try {
      await started.promise;
      // Active: refused too.
      await assert.rejects(queue.enqueue(jobData('voice-dup')), CloneInProgressError);
      assert.equal((await queue.position('voice-dup'))?.state, 'active');
      release.resolve();
      await events.waitForResult({ voiceId: 'voice-dup', jobId: first.jobId });
      // Finished: a new run for the voice is accepted.
      const second = jobData('voice-dup');
      assert.deepEqual(await queue.enqueue(second), { voiceId: 'voice-dup', jobId: second.jobId });
      assert.deepEqual(await events.waitForResult({ voiceId: 'voice-dup', jobId: second.jobId }), { metrics: {}, version: 1 });
    } finally {
      release.resolve();
      await worker.close();
      await events.close();
      await queue.close();
    }
  });

  it('reports the place in line for waiting runs', async () => {
    const queue = makeQueue(server.url);
    try {
      for (const voice of ['line-a', 'line-b', 'line-c']) await queue.enqueue(jobData(voice));
      assert.deepEqual(await queue.position('line-a'), { state: 'waiting', position: 1, of: 3 });
      assert.deepEqual(await queue.position('line-c'), { state: 'waiting', position: 3, of: 3 });
      assert.equal(await queue.position('line-none'), null);
      assert.equal((await queue.counts()).waiting, 3);
      for (const voice of ['line-a', 'line-b', 'line-c']) assert.equal(await queue.cancel(voice), 'removed');
      assert.equal((await queue.counts()).waiting, 0);
    } finally {
      await queue.close();
    }
  });

  it('retries a failing run with exponential backoff and completes on attempt 3', async () => {
    const queue = makeQueue(server.url, { attempts: 3, backoffMs: 100 });
    const startedAt: number[] = [];
    const attempts: number[] = [];
    const worker = makeWorker(server.url, {
      processor: async (_data, ctx) => {
        startedAt.push(Date.now());
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new Error(`transient failure ${ctx.attempt}`);
        return { metrics: { attempt: ctx.attempt }, version: 1 };
      },
    });
    const failures: boolean[] = [];
    const duringBackoff: Array<Promise<unknown>> = [];
    worker.on('failed', (_ref, failure) => {
      failures.push(failure.willRetry);
      // Waiting out its backoff, the run still holds the voice.
      duringBackoff.push(
        queue.enqueue(jobData('voice-retry')).then(
          () => 'accepted',
          (error: unknown) => error,
        ),
      );
    });
    const events = new RunOutcomes(server.url);
    try {
      const data = jobData('voice-retry');
      await queue.enqueue(data);
      const result = await events.waitForResult({ voiceId: 'voice-retry', jobId: data.jobId });
      assert.deepEqual(result, { metrics: { attempt: 3 }, version: 1 });
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.deepEqual(failures, [true, true]);
      for (const outcome of await Promise.all(duringBackoff)) assert.ok(outcome instanceof CloneInProgressError, String(outcome));
      const [t1 = 0, t2 = 0, t3 = 0] = startedAt;
      // Exponential: ~100 ms then ~200 ms.
      assert.ok(t2 - t1 >= 90, `first backoff ${t2 - t1} ms`);
      assert.ok(t3 - t2 >= 190, `second backoff ${t3 - t2} ms`);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });

  it('fails for good after the last attempt and tells waiters why', async () => {
    const queue = makeQueue(server.url, { attempts: 2, backoffMs: 20 });
    const worker = makeWorker(server.url, {
      processor: async () => {
        throw new Error('out of GPU memory');
      },
    });
    const events = new RunOutcomes(server.url);
    try {
      const data = jobData('voice-fail');
      await queue.enqueue(data);
      await assert.rejects(events.waitForResult({ voiceId: 'voice-fail', jobId: data.jobId }), /failed: out of GPU memory/);
      assert.equal((await queue.counts()).failed, 1);
      // A failed run does not block the voice.
      await queue.enqueue(jobData('voice-fail'));
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });
});

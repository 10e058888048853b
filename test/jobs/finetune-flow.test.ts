import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { FineTuneEvents, type FineTuneEvent } from '../../src/jobs/finetune-events.ts';
import { CloneInProgressError } from '../../src/jobs/finetune-queue.ts';
import type { FineTuneJobProgress } from '../../src/jobs/finetune-job.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { deferred, eventually, jobData, makeQueue, makeWorker } from './support.ts';

describe('fine-tune queue: enqueue, progress, results, retries', () => {
  let server: TestRedis;
  beforeAll(async () => {
    server = await startTestRedis();
  });
  afterAll(async () => {
    await server.cleanup();
  });

  it('runs a job, shows its progress to another listener, and delivers the result', async () => {
    const queue = makeQueue(server.url);
    const events = new FineTuneEvents({ url: server.url });
    await events.waitUntilReady();
    const seen: FineTuneEvent[] = [];
    const data = jobData('voice-flow');
    events.watch({ voiceId: 'voice-flow' }, (event) => seen.push(event));
    const workerSaw: FineTuneJobProgress[] = [];
    const worker = makeWorker(server.url, {
      processor: async (payload, ctx) => {
        assert.deepEqual(payload, data);
        assert.equal(ctx.attempt, 1);
        await ctx.progress({ stage: 'slice', fraction: 0.25 });
        await ctx.progress({ stage: 'train', fraction: 0.75, detail: { epoch: 3 } });
        return { metrics: { loss: 0.5 }, version: 2 };
      },
    });
    worker.on('progress', (_ref, progress) => workerSaw.push(progress));
    try {
      const ref = await queue.enqueue(data);
      assert.deepEqual(ref, { voiceId: 'voice-flow', jobId: data.jobId });
      const result = await events.waitForResult({ voiceId: 'voice-flow', jobId: data.jobId });
      assert.deepEqual(result, { metrics: { loss: 0.5 }, version: 2 });
      await eventually(() => seen.some((e) => e.type === 'completed'), 2000, 'completed event');
      const progress = seen.filter((e) => e.type === 'progress').map((e) => (e.type === 'progress' ? e.progress : null));
      assert.deepEqual(progress, [
        { stage: 'slice', fraction: 0.25 },
        { stage: 'train', fraction: 0.75, detail: { epoch: 3 } },
      ]);
      assert.equal(workerSaw.length, 2);
      // Asked again after the fact, the finished result is still there: by voice, by job, by both.
      assert.deepEqual(await events.waitForResult({ voiceId: 'voice-flow' }), result);
      assert.deepEqual(await events.waitForResult({ jobId: data.jobId }), result);
      const counts = await queue.counts();
      assert.equal(counts.completed, 1);
      assert.equal(counts.active + counts.waiting + counts.delayed, 0);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
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
    const events = new FineTuneEvents({ url: server.url });
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
      duringBackoff.push(queue.enqueue(jobData('voice-retry')).then(() => 'accepted', (error: unknown) => error));
    });
    const events = new FineTuneEvents({ url: server.url });
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
    const events = new FineTuneEvents({ url: server.url });
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

import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { Redis } from 'ioredis';
import { cancelFlagKey } from '../../src/jobs/cancel-flag.ts';
import { bullJobId } from '../../src/jobs/finetune-job.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { deferred, eventually, jobData, makeQueue, makeWorker, RunCancelledError, RunOutcomes, sleep } from './support.ts';

/** Every key name and stored value in Redis, to look for traces of a voice. */
async function dumpRedis(redis: Redis): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      out.push(`key ${key}`);
      const type = await redis.type(key);
      if (type === 'hash') out.push(...Object.entries(await redis.hgetall(key)).map(([f, v]) => `${key} ${f}=${v}`));
      else if (type === 'list') out.push(...(await redis.lrange(key, 0, -1)).map((v) => `${key} ${v}`));
      else if (type === 'set') out.push(...(await redis.smembers(key)).map((v) => `${key} ${v}`));
      else if (type === 'zset') out.push(...(await redis.zrange(key, '0', '-1')).map((v) => `${key} ${v}`));
      else if (type === 'string') out.push(`${key} ${await redis.get(key)}`);
      else if (type === 'stream') for (const [, fields] of await redis.xrange(key, '-', '+')) out.push(`${key} ${fields.join(' ')}`);
    }
  } while (cursor !== '0');
  return out;
}

describe('fine-tune cancellation and purge', () => {
  let server: TestRedis;
  beforeAll(async () => {
    server = await startTestRedis();
  });
  afterAll(async () => {
    await server.cleanup();
  });

  it('a cancelled waiting run never runs, and waiters learn it was cancelled', async () => {
    const queue = makeQueue(server.url);
    const events = new RunOutcomes(server.url);
    const ran: string[] = [];
    try {
      const doomed = jobData('voice-cw');
      await queue.enqueue(doomed);
      const waiting = assert.rejects(events.waitForResult({ voiceId: 'voice-cw', jobId: doomed.jobId }), RunCancelledError);
      await sleep(50);
      assert.equal(await queue.cancel('voice-cw'), 'removed');
      await waiting;
      assert.equal(await queue.cancel('voice-cw'), 'none');

      const sentinel = jobData('voice-cw-other');
      await queue.enqueue(sentinel);
      const worker = makeWorker(server.url, {
        processor: async (data) => {
          ran.push(data.jobId);
          return { metrics: {}, version: 1 };
        },
      });
      try {
        await events.waitForResult({ voiceId: 'voice-cw-other', jobId: sentinel.jobId });
        assert.deepEqual(ran, [sentinel.jobId]);
        // The voice is free again.
        const again = jobData('voice-cw');
        await queue.enqueue(again);
        await events.waitForResult({ voiceId: 'voice-cw', jobId: again.jobId });
      } finally {
        await worker.close();
      }
    } finally {
      await events.close();
      await queue.close();
    }
  });

  it('a cancelled running run is aborted within a short time, ends cancelled and is not retried', async () => {
    const queue = makeQueue(server.url, { attempts: 3, backoffMs: 10 });
    const events = new RunOutcomes(server.url);
    const started = deferred();
    let calls = 0;
    let abortedAt = 0;
    const worker = makeWorker(server.url, {
      processor: (_data, ctx) => {
        calls++;
        started.resolve();
        return new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            abortedAt = Date.now();
            reject(new Error('training stopped'));
          });
        });
      },
    });
    const cancelled: string[] = [];
    worker.on('cancelled', (ref) => cancelled.push(ref.jobId));
    try {
      const data = jobData('voice-cr');
      await queue.enqueue(data);
      await started.promise;
      const waiting = assert.rejects(events.waitForResult({ voiceId: 'voice-cr', jobId: data.jobId }), RunCancelledError);
      const cancelAt = Date.now();
      assert.equal(await queue.cancel('voice-cr'), 'signalled');
      await waiting;
      assert.ok(abortedAt > 0 && abortedAt - cancelAt < 500, `aborted ${abortedAt - cancelAt} ms after cancel`);
      await eventually(() => cancelled.length === 1, 2000, 'cancelled event');
      assert.deepEqual(cancelled, [data.jobId]);
      await sleep(300); // a retry would have started by now (backoff 10 ms)
      assert.equal(calls, 1);
      assert.equal((await queue.counts()).failed, 1);
      assert.equal(await queue.current('voice-cr'), null);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });

  it('a cancel whose pub/sub message was missed still stops the run (durable flag)', async () => {
    const queue = makeQueue(server.url);
    const inspector = new Redis(server.url);
    const started = deferred();
    const aborted = deferred();
    const worker = makeWorker(server.url, {
      cancelPollMs: 100,
      processor: (_data, ctx) => {
        started.resolve();
        return new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => {
            aborted.resolve();
            reject(new Error('stopped'));
          }),
        );
      },
    });
    try {
      const data = jobData('voice-flag');
      await queue.enqueue(data);
      await started.promise;
      // What cancel() leaves behind, without its pub/sub message.
      await inspector.set(cancelFlagKey(bullJobId(data)), '1');
      await aborted.promise;
      await eventually(async () => (await queue.counts()).failed === 1, 2000, 'job failed as cancelled');
      await eventually(async () => (await inspector.exists(cancelFlagKey(bullJobId(data)))) === 0, 2000, 'flag cleaned up');
    } finally {
      await worker.close();
      inspector.disconnect();
      await queue.close();
    }
  });

  it('purgeVoice leaves nothing in Redis that mentions the voice, and keeps other voices', async () => {
    const voice = 'vpurge42';
    const queue = makeQueue(server.url, { attempts: 1 });
    const events = new RunOutcomes(server.url);
    const inspector = new Redis(server.url);
    const started = deferred();
    const worker = makeWorker(server.url, {
      processor: (data, ctx) => {
        if (data.backend === 'ok') return Promise.resolve({ metrics: { loss: 1 }, version: 1 });
        if (data.backend === 'bad') return Promise.reject(new Error('bad sample'));
        started.resolve();
        return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped'))));
      },
    });
    try {
      const done = jobData(voice, { backend: 'ok' });
      await queue.enqueue(done);
      await events.waitForResult({ voiceId: voice, jobId: done.jobId });
      const failed = jobData(voice, { backend: 'bad' });
      await queue.enqueue(failed);
      await assert.rejects(events.waitForResult({ voiceId: voice, jobId: failed.jobId }));
      const other = jobData('other7', { backend: 'ok' });
      await queue.enqueue(other);
      await events.waitForResult({ voiceId: 'other7', jobId: other.jobId });
      await queue.enqueue(jobData(voice, { backend: 'hang' }));
      await started.promise;
      assert.ok(
        (await dumpRedis(inspector)).some((line) => line.includes(voice)),
        'test set-up left no trace to purge',
      );

      await queue.purgeVoice(voice);

      const traces = (await dumpRedis(inspector)).filter((line) => line.includes(voice));
      assert.deepEqual(traces, []);
      assert.ok(
        (await dumpRedis(inspector)).some((line) => line.includes('other7')),
        'other voice lost',
      );
      assert.deepEqual(await events.waitForResult({ voiceId: 'other7', jobId: other.jobId }), { metrics: { loss: 1 }, version: 1 });
    } finally {
      await worker.close();
      inspector.disconnect();
      await events.close();
      await queue.close();
    }
  });
});

import assert from 'node:assert/strict';
import { UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, test } from 'vitest';
import { bullKeys, ID_LISTS, ID_SETS, ID_SORTED_SETS, purgeVoiceKeys, QUEUE_KEYS } from '../../src/jobs/bull-layout.ts';
import { bullJobId, type FineTuneJobData } from '../../src/jobs/finetune-job.ts';
import { dumpRedis } from '../support/redis-dump.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { deferred, eventually, jobData, makeQueue, makeWorker, RunOutcomes } from './support.ts';

let server: TestRedis;
beforeAll(async () => {
  server = await startTestRedis();
});
afterAll(async () => {
  await server.cleanup();
});

/**
 * The purge (src/jobs/bull-layout.ts) deletes BullMQ's private keys itself. This runs real
 * BullMQ through every state a run can be in and checks that the keys are where the module
 * says, that BullMQ keeps no key the module does not know, and that a purge leaves nothing.
 * A BullMQ upgrade that moves, renames or adds a key fails here before it can leave a
 * revoked voice behind in Redis.
 */
test('BullMQ keeps its runs where bull-layout.ts expects, and the purge leaves nothing of a voice', async () => {
  const queue = makeQueue(server.url, { attempts: 2, backoffMs: 60_000 });
  const outcomes = new RunOutcomes(server.url);
  const inspector = new Redis(server.url, { maxRetriesPerRequest: 1 });
  const hanging = deferred();
  // One run at a time: while the hanging run holds the worker, the next one waits.
  const worker = makeWorker(server.url, {
    concurrency: 1,
    // BullMQ's default lock: the short test lock can expire on a starved CPU, and then the hanging run is not held.
    lockDuration: 30_000,
    stalledInterval: 30_000,
    processor: (data, ctx) => {
      if (data.backend === 'ok') return Promise.resolve({ metrics: { loss: 1 }, version: 1 });
      if (data.backend === 'bad') return Promise.reject(new UnrecoverableError('bad sample'));
      if (data.backend === 'retry') return Promise.reject(new Error('try again later'));
      hanging.resolve();
      return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped'))));
    },
  });
  const runs: Record<'completed' | 'failed' | 'delayed' | 'active' | 'waiting', FineTuneJobData> = {
    completed: jobData('v_layout_completed', { backend: 'ok' }),
    failed: jobData('v_layout_failed', { backend: 'bad' }),
    delayed: jobData('v_layout_delayed', { backend: 'retry' }),
    active: jobData('v_layout_active', { backend: 'hang' }),
    waiting: jobData('v_layout_waiting', { backend: 'ok' }),
  };
  const id = (run: FineTuneJobData): string => bullJobId(run);
  try {
    await queue.enqueue(runs.completed);
    await outcomes.waitForResult(runs.completed);
    await queue.enqueue(runs.failed);
    await assert.rejects(outcomes.waitForResult(runs.failed), /bad sample/);
    await queue.enqueue(runs.delayed);
    await eventually(
      async () => (await inspector.zscore(bullKeys.container('delayed'), id(runs.delayed))) !== null,
      20_000,
      'the retried run to wait out its backoff',
    );
    await queue.enqueue(runs.active);
    await hanging.promise;
    await queue.enqueue(runs.waiting);

    // Each run sits where the module looks for it.
    assert.notEqual(await inspector.zscore(bullKeys.container('completed'), id(runs.completed)), null, 'completed runs: sorted set `completed`');
    assert.notEqual(await inspector.zscore(bullKeys.container('failed'), id(runs.failed)), null, 'failed runs: sorted set `failed`');
    assert.notEqual(await inspector.zscore(bullKeys.container('delayed'), id(runs.delayed)), null, 'runs in backoff: sorted set `delayed`');
    assert.deepEqual(await inspector.lrange(bullKeys.container('active'), 0, -1), [id(runs.active)], 'running: list `active`');
    assert.equal(await inspector.exists(bullKeys.lock(id(runs.active))), 1, 'a running run is locked under `<id>:lock`');
    assert.deepEqual(await inspector.lrange(bullKeys.container('wait'), 0, -1), [id(runs.waiting)], 'waiting: list `wait`');
    for (const run of [runs.delayed, runs.active, runs.waiting]) {
      assert.equal(await inspector.get(bullKeys.dedup(run.voiceId)), id(run), 'the run holding a voice: `de:<voiceId>`');
    }
    for (const run of Object.values(runs)) assert.equal(await inspector.type(bullKeys.job(id(run))), 'hash', 'a run: hash `<id>`');

    // And BullMQ keeps nothing the module does not know about.
    const known = new Set<string>([...ID_LISTS, ...ID_SORTED_SETS, ...ID_SETS, ...QUEUE_KEYS]);
    const jobKey = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(:[a-z-]+)?$/;
    const dedupKey = /^(de|dn):[A-Za-z0-9_-]+$/;
    const unknown = (await dumpRedis(inspector))
      .map((entry) => entry.key)
      .filter((key) => key.startsWith(bullKeys.base))
      .map((key) => key.slice(bullKeys.base.length))
      .filter((rest) => !known.has(rest) && !jobKey.test(rest) && !dedupKey.test(rest));
    assert.deepEqual(unknown, [], 'keys of a BullMQ layout bull-layout.ts does not know');

    // A running run is not purged: it is flagged to cancel, and nothing of it goes yet.
    assert.deepEqual(await purgeVoiceKeys(inspector, runs.active.voiceId), { status: 'locked', runs: 1 });
    assert.equal(await inspector.exists(bullKeys.job(id(runs.active))), 1);

    // The script alone, without BullMQ's own removal first: it must find every key itself.
    for (const run of [runs.completed, runs.failed, runs.delayed, runs.waiting]) {
      assert.deepEqual(await purgeVoiceKeys(inspector, run.voiceId), { status: 'purged' });
    }
    // The running one the way revocation does it: cancel, wait for the worker to let go, purge.
    await queue.purgeVoice(runs.active.voiceId);

    const traces = (await dumpRedis(inspector)).filter((entry) =>
      Object.values(runs).some((run) => entry.key.includes(run.voiceId) || entry.dump.includes(run.voiceId)),
    );
    assert.deepEqual(
      traces.map((entry) => entry.key),
      [],
      'keys that still name a purged voice',
    );
  } finally {
    // A failure above may leave the hanging run active: hand it back instead of waiting for it.
    await worker.close({ timeoutMs: 1000 });
    inspector.disconnect();
    await outcomes.close();
    await queue.close();
  }
});

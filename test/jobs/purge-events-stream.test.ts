import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { BULL_PREFIX, FINETUNE_QUEUE_NAME } from '../../src/jobs/bull-layout.ts';
import { FineTuneQueue } from '../../src/jobs/finetune-queue.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { jobData } from './support.ts';

let server: TestRedis;
beforeAll(async () => {
  server = await startTestRedis();
});
afterAll(async () => {
  await server.cleanup();
});

const EVENTS = `${BULL_PREFIX}:${FINETUNE_QUEUE_NAME}:events`;

async function lastGeneratedId(redis: Redis): Promise<bigint> {
  const info = (await redis.xinfo('STREAM', EVENTS)) as unknown[];
  const [ms, seq] = String(info[info.indexOf('last-generated-id') + 1]).split('-');
  return BigInt(ms!) * 1_000_000n + BigInt(seq!);
}

/**
 * Purging a voice removes its entries from the events stream by rebuilding the stream
 * (XDEL would leave their bytes in the stream's nodes and so in the rewritten AOF). The
 * other voices' entries, their ids and the stream's last id must come through unchanged.
 */
test("purging a voice drops its events and keeps every other voice's events, ids and the stream's last id", async () => {
  const queue = new FineTuneQueue({ url: server.url });
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    const doomed = jobData('v_doomed_voice');
    const kept = jobData('v_kept_voice');
    // The doomed voice's events are the newest, so the rebuilt stream must keep the last id itself.
    await queue.enqueue(kept);
    await queue.enqueue(doomed);
    const mentions = (fields: string[], id: string) => fields.some((v) => v.includes(id));
    const before = await redis.xrange(EVENTS, '-', '+');
    assert.ok(
      before.some(([, fields]) => mentions(fields, doomed.voiceId)),
      'the doomed voice has events',
    );
    const keptBefore = before.filter(([, fields]) => !mentions(fields, doomed.voiceId));
    assert.ok(keptBefore.some(([, fields]) => mentions(fields, kept.voiceId)));
    const lastIdBefore = await lastGeneratedId(redis);

    await queue.purgeVoice(doomed.voiceId);

    const afterEntries = await redis.xrange(EVENTS, '-', '+');
    // BullMQ adds its own 'removed' event during the purge; it names the doomed job too and must be gone.
    assert.equal(
      afterEntries.some(([, fields]) => mentions(fields, doomed.voiceId)),
      false,
      'no event of the purged voice is left',
    );
    const survivors = afterEntries.filter(([id]) => keptBefore.some(([k]) => k === id));
    assert.deepEqual(survivors, keptBefore, 'the other entries keep their ids and fields');
    assert.ok((await lastGeneratedId(redis)) >= lastIdBefore, 'the last id does not go back, so readers continue where they were');
    assert.deepEqual((await queue.current(kept.voiceId))?.jobId, kept.jobId, 'the other voice is still queued');
  } finally {
    redis.disconnect();
    await queue.close();
  }
});

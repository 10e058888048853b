import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { dumpRedis } from '../support/redis-dump.ts';
import { fileMentions as mentions, filesUnder, redisMentions } from '../support/leftovers.ts';
import { clonedVoice, startRuntime } from '../support/runtime-fixture.ts';
import { createToneBackend } from '../support/tone-backend.ts';

/**
 * What a revocation leaves on disk and in Redis, read the way an attacker with the
 * disk would: the SQLite database and its WAL byte by byte for the wrapped data key,
 * every Redis key of every type, and the AOF files for the ids of the user, the voice,
 * the job and the sample (the whole job payload).
 */
test('a revocation leaves neither the wrapped key in the SQLite files nor any id or payload of the user in Redis or its AOF', async () => {
  // The first attempt fails, so the queue also holds a failure and its events.
  const f = await startRuntime({ backends: [createToneBackend({ failAttempts: [1] })], env: { VOCALIS_CONSENT_VERIFICATION: 'off' } });
  let redis: Redis | undefined;
  try {
    const { vocalis, db, paths, redisUrl } = f.runtime;
    redis = new Redis(redisUrl!, { maxRetriesPerRequest: 1 });
    const { identity, userId, voiceId, jobId } = await clonedVoice(f.runtime, 'erin');
    const wrapped = db.prepare('SELECT wrapped FROM data_keys WHERE user_id = ?').get(userId)?.['wrapped'];
    assert.ok(wrapped instanceof Uint8Array);
    const keyBytes = Buffer.from(wrapped);
    const sqliteFiles = (await readdir(f.dataDir)).filter((name) => name.startsWith('vocalis.sqlite')).map((name) => join(f.dataDir, name));
    const keyCopies = async () => {
      const found: string[] = [];
      for (const file of sqliteFiles) {
        const bytes = await readFile(file).catch(() => Buffer.alloc(0));
        if (bytes.includes(keyBytes) || bytes.includes(keyBytes.subarray(8, 24))) found.push(file);
      }
      return found;
    };

    // Before: the scans see what they look for, so their silence afterwards means something.
    const before = await dumpRedis(redis);
    const job = before.find((e) => e.type === 'hash' && e.key.includes(`${voiceId}.`) && e.dump.includes(userId));
    assert.ok(job, 'the job hash carries the payload');
    const payload = JSON.parse((JSON.parse(job.dump) as { data: string }).data) as Record<string, string>;
    const needles = [...new Set([userId, voiceId, jobId, ...Object.values(payload).filter((v) => v.length >= 8)])];
    assert.ok(needles.length >= 3, `ids of the user, voice and job: ${needles.join(', ')}`);
    assert.ok(
      before.some((e) => e.type === 'stream' && e.dump.includes(voiceId)),
      'the events stream mentions the voice',
    );
    assert.notDeepEqual(await mentions(await filesUnder(paths.redisDir), [voiceId, userId]), [], 'the AOF holds the ids before');
    assert.notDeepEqual(await keyCopies(), [], 'the wrapped key is in the SQLite files before');

    await vocalis.revoke({ target: identity, actor: { kind: 'operator' } });

    assert.deepEqual(await keyCopies(), [], 'no copy of the wrapped data key in vocalis.sqlite or its WAL');
    assert.deepEqual(redisMentions(await dumpRedis(redis), needles), [], 'no Redis key of any type mentions the user');
    assert.deepEqual(await mentions(await filesUnder(paths.redisDir), needles), [], 'no AOF file holds an id or payload of the user');
  } finally {
    redis?.disconnect();
    await f.close();
  }
});

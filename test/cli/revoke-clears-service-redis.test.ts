import { test } from 'vitest';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { fileMentions, filesUnder, redisMentions } from '../support/leftovers.ts';
import { dumpRedis } from '../support/redis-dump.ts';
import { clonedVoice, startRuntime } from '../support/runtime-fixture.ts';
import { runNode } from '../support/spawn-node.ts';
import { createToneBackend } from '../support/tone-backend.ts';

/**
 * The operator revokes with the CLI while the service runs. The CLI must erase what the
 * service's Redis holds of the user (job hashes, events, the AOF on disk) exactly as an
 * in-process revocation does, not only the files and the database.
 */
test("vocalis consent revoke clears the running service's Redis and its AOF of the user", async () => {
  const f = await startRuntime({ env: { VOCALIS_CONSENT_VERIFICATION: 'off' }, backends: [createToneBackend()] });
  let redis: Redis | undefined;
  try {
    const { paths, redisUrl } = f.runtime;
    redis = new Redis(redisUrl!, { maxRetriesPerRequest: 1 });
    const { userId, voiceId, jobId } = await clonedVoice(f.runtime, 'frank');
    const needles = [userId, voiceId, jobId];
    assert.notDeepEqual(redisMentions(await dumpRedis(redis), needles), [], "the service's Redis holds the job before");

    const cli = await runNode(['src/cli/main.ts', 'consent', 'revoke', '--user', 'frank', '--json'], {
      VOCALIS_DATA_DIR: f.dataDir,
      VOCALIS_MASTER_KEY: f.masterKey,
      VOCALIS_LOG_LEVEL: 'silent',
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((JSON.parse(cli.stdout) as { receipt: { outcome: string } }).receipt.outcome, 'revoked');

    assert.deepEqual(redisMentions(await dumpRedis(redis), needles), [], 'no Redis key of any type mentions the user');
    assert.deepEqual(await fileMentions(await filesUnder(paths.redisDir), needles), [], 'no AOF file holds an id of the user');
  } finally {
    redis?.disconnect();
    await f.close();
  }
});

import { test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { EmbeddedRedis } from '../../src/jobs/embedded-redis.ts';
import { startRuntime } from '../support/runtime-fixture.ts';

/**
 * The durability promise of the embedded Redis, read from the live server: killing
 * Redis cannot tell `appendfsync always` from `no` (the kernel still has the writes),
 * so the test asks the server which policy it actually runs with.
 */
test('the embedded Redis runs with an fsynced AOF, no RDB snapshots, no eviction and a password, by default', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vocalis-redis-config-'));
  const server = new EmbeddedRedis({ dir: join(dir, 'redis') });
  await server.start();
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    const config = async (name: string): Promise<string | undefined> => ((await client.config('GET', name)) as string[])[1];
    assert.equal(await config('appendonly'), 'yes');
    assert.equal(await config('appendfsync'), 'always', 'every acknowledged write is on disk before Redis replies');
    assert.equal(await config('save'), '', 'the AOF is the one copy: no RDB snapshots');
    assert.equal(await config('maxmemory-policy'), 'noeviction', 'BullMQ loses jobs under any eviction policy');
    assert.equal(await config('bind'), '127.0.0.1');
    assert.match((await config('requirepass')) ?? '', /^[0-9a-f]{48}$/, 'a random password');
  } finally {
    client.disconnect();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the runtime starts its Redis with appendfsync always', async () => {
  const f = await startRuntime({ needs: { queue: true } });
  const client = new Redis(f.runtime.redisUrl!, { maxRetriesPerRequest: 1 });
  try {
    assert.deepEqual(await client.config('GET', 'appendfsync'), ['appendfsync', 'always']);
  } finally {
    client.disconnect();
    await f.close();
  }
});

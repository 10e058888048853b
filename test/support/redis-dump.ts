import type { Redis } from 'ioredis';

export interface RedisEntry {
  readonly key: string;
  readonly type: string;
  /** Every value the key holds, as text: members, fields, scores, stream entry ids and fields. */
  readonly dump: string;
}

/**
 * Every key in the database with everything it holds, by type. A type this does not
 * know fails loudly rather than being dumped as nothing, so a scan for leftovers can
 * never pass because it could not read a value.
 */
export async function dumpRedis(redis: Redis): Promise<RedisEntry[]> {
  const entries: RedisEntry[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'none') continue; // expired between SCAN and TYPE
      entries.push({ key, type, dump: await dumpValue(redis, key, type) });
    }
  } while (cursor !== '0');
  return entries;
}

async function dumpValue(redis: Redis, key: string, type: string): Promise<string> {
  switch (type) {
    case 'string':
      return (await redis.getBuffer(key))?.toString('latin1') ?? '';
    case 'hash':
      return JSON.stringify(await redis.hgetall(key));
    case 'list':
      return JSON.stringify(await redis.lrange(key, 0, -1));
    case 'set':
      return JSON.stringify(await redis.smembers(key));
    case 'zset':
      return JSON.stringify(await redis.zrange(key, '0', '-1', 'WITHSCORES'));
    case 'stream': {
      const entries = await redis.xrange(key, '-', '+');
      const groups = (await redis.xinfo('GROUPS', key)) as unknown[];
      return JSON.stringify({ entries, groups });
    }
    default:
      throw new Error(`redis key ${key} has type ${type}, which the leftover scan cannot read`);
  }
}

import { Redis, type RedisOptions } from 'ioredis';

/**
 * ioredis connections for BullMQ and for Vocalis' own pub/sub.
 *
 * BullMQ requires `maxRetriesPerRequest: null` on connections that run blocking
 * commands (workers, QueueEvents): a blocked BRPOPLPUSH/XREAD must survive a Redis
 * restart instead of failing after N retries. Producers (the service handling a
 * chat command) prefer to fail fast, so they keep a bounded retry count.
 */
export type ConnectionRole = 'producer' | 'blocking';

/** Reconnect quickly at first, then back off to at most 2 s: Redis restarts take ~1 s. */
export function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 6), 2000);
}

/** The subset of ioredis options we set, typed so BullMQ's `connection` accepts it too. */
export interface VocalisConnectionOptions {
  maxRetriesPerRequest: number | null;
  enableReadyCheck: boolean;
  retryStrategy: (times: number) => number;
  connectTimeout: number;
}

export function connectionOptions(role: ConnectionRole): VocalisConnectionOptions & RedisOptions {
  return {
    maxRetriesPerRequest: role === 'blocking' ? null : 3,
    enableReadyCheck: true,
    retryStrategy: reconnectDelay,
    connectTimeout: 5000,
  };
}

/** A new connection to `url` (redis://[:password@]host:port[/db]). */
export function createRedisConnection(url: string, role: ConnectionRole = 'blocking'): Redis {
  return new Redis(url, connectionOptions(role));
}

/** `redis://:secret@host:1234/0` → `redis://:***@host:1234/0`: URLs may carry a password. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    if (parsed.username && parsed.password === '') parsed.username = '***';
    return parsed.toString();
  } catch {
    return '<unparsable redis url>';
  }
}

/** `host:port` of a Redis URL, for error messages. */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || '127.0.0.1'}:${parsed.port || '6379'}`;
  } catch {
    return '<unparsable redis url>';
  }
}

export class RedisUnreachableError extends Error {
  readonly address: string;
  readonly attempts: number;
  constructor(address: string, attempts: number, reason: string) {
    super(`Redis unreachable at ${address} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason}`);
    this.name = 'RedisUnreachableError';
    this.address = address;
    this.attempts = attempts;
  }
}

/** One PING on a throw-away connection that never retries; rejects with Redis' or the socket's error. */
export async function pingOnce(url: string, timeoutMs = 1000): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    // The ready check's INFO would hide NOAUTH behind "Connection is closed".
    enableReadyCheck: false,
    connectTimeout: timeoutMs,
  });
  // ioredis rejects connect() with a bare "Connection is closed"; the cause arrives as 'error'.
  let cause: unknown;
  client.on('error', (error: unknown) => {
    cause ??= error;
  });
  try {
    await client.connect();
    const reply = await client.ping();
    if (reply !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(reply)}`);
  } catch (error) {
    throw cause ?? error;
  } finally {
    client.disconnect();
  }
}

export interface WaitForRedisOptions {
  /** PING attempts before giving up (default 10). */
  attempts?: number;
  /** Pause between attempts in ms (default 200). */
  delayMs?: number;
  /** Timeout of each attempt in ms (default 1000). */
  attemptTimeoutMs?: number;
}

/**
 * Waits until Redis answers PING, with bounded retries. Failure is ONE error naming
 * the address (never the password) and the last reason, so operators see at once
 * whether REDIS_URL is wrong or Redis is down.
 */
export async function waitForRedis(url: string, options: WaitForRedisOptions = {}): Promise<void> {
  const attempts = Math.max(1, options.attempts ?? 10);
  const delayMs = options.delayMs ?? 200;
  let reason = 'no attempt made';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await pingOnce(url, options.attemptTimeoutMs ?? 1000);
      return;
    } catch (error) {
      reason = describeError(error);
    }
    if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  throw new RedisUnreachableError(redisAddress(url), attempts, reason);
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = 'code' in error ? error.code : undefined;
    const message = error.message || error.name;
    return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
  }
  return String(error);
}

/** Every key matching `pattern`, with SCAN (never KEYS, which blocks a shared Redis). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

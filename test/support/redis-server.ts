import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedRedis } from '../../src/jobs/embedded-redis.ts';

/**
 * A real redis-server for one test file: its own temp dir, a free port, AOF on.
 * `restart()` brings it back on the same port and AOF dir, so clients reconnect to
 * the same URL and find what was persisted. Call `cleanup()` in `after()`; a
 * process exit kills the server anyway (EmbeddedRedis' exit hook).
 */
export interface TestRedis {
  readonly url: string;
  readonly dir: string;
  readonly redis: EmbeddedRedis;
  /** Stops it: 'SIGTERM' (graceful, flushes AOF) or 'SIGKILL' (crash). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  restart(signal?: NodeJS.Signals): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startTestRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'vocalis-redis-'));
  const redis = new EmbeddedRedis({ dir: join(dir, 'redis'), startTimeoutMs: 10_000, stopTimeoutMs: 5000 });
  await redis.start();
  const url = redis.url;
  return {
    url,
    dir,
    redis,
    kill: (signal = 'SIGTERM') => redis.kill(signal),
    start: () => redis.start(),
    async restart(signal = 'SIGTERM') {
      await redis.kill(signal);
      await redis.start();
    },
    async cleanup() {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

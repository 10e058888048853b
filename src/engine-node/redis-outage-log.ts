import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.ts';

/**
 * ioredis reports every failed reconnect as an 'error' event (and prints it when nobody listens):
 * one warning when Redis goes out of reach, one line when it is back, nothing in between.
 */
export function logRedisOutages(redis: Redis, logger: Logger, what: string): void {
  let down = false;
  redis.on('error', (error: unknown) => {
    if (!down) logger.warn({ err: error }, `${what}: Redis is out of reach`);
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info(`${what}: Redis is back`);
    down = false;
  });
}

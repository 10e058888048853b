import { readFile } from 'node:fs/promises';
import type { Config } from '../config/config.ts';
import { NodeDirectory } from '../engine-node/node-directory.ts';
import { logRedisOutages } from '../engine-node/redis-outage-log.ts';
import { RemoteSpeech } from '../engine-node/remote-speech.ts';
import { createRedisConnection } from '../jobs/redis-connection.ts';
import type { Logger } from '../observability/logger.ts';
import type { ShutdownSequence } from './shutdown-sequence.ts';

/**
 * VOCALIS_ENGINE=remote: synthesis and preview preparation on the engine nodes registered in REDIS_URL, requests
 * signed with VOCALIS_ENGINE_SECRET (both required by the config for this mode).
 */
export async function openRemoteSpeech(config: Config, logger: Logger, closers: ShutdownSequence): Promise<RemoteSpeech> {
  const { redisUrl } = config;
  const secret = config.engine.secret;
  if (!redisUrl || !secret) throw new Error('VOCALIS_ENGINE=remote needs REDIS_URL and VOCALIS_ENGINE_SECRET');
  const redis = createRedisConnection(redisUrl, 'producer');
  logRedisOutages(redis, logger, 'engine node directory');
  const tlsCa = config.engine.tlsCa ? await readFile(config.engine.tlsCa) : undefined;
  const remote = new RemoteSpeech({ directory: new NodeDirectory(redis), secret, logger, ...(tlsCa ? { tlsCa } : {}) });
  closers.first('engine node client', async () => {
    remote.close();
    await redis.quit();
  });
  logger.info({ tls: Boolean(tlsCa) }, 'synthesis and voice preparation run on engine nodes');
  return remote;
}

import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Config } from '../config/config.ts';
import { formatEngineAddress, isLoopback, parseEngineAddress } from '../engine-node/engine-address.ts';
import { EngineServer } from '../engine-node/engine-server.ts';
import { NodeRegistration } from '../engine-node/node-registration.ts';
import { logRedisOutages } from '../engine-node/redis-outage-log.ts';
import { RevokedVoiceSweeper } from '../engine-node/revoked-voice-sweeper.ts';
import { createRedisConnection, redactRedisUrl } from '../jobs/redis-connection.ts';
import type { Logger } from '../observability/logger.ts';
import type { Stoppable } from './process-lifecycle.ts';
import { openRuntime, shutdownEndingWith, type Runtime, type RuntimeOverrides } from './runtime.ts';

export interface RunningEngineNode extends Stoppable {
  readonly nodeId: string;
  /** `host:port` registered in Redis (the bound port when the configured one is 0). */
  readonly address: string;
  readonly runtime: Runtime;
  readonly server: EngineServer;
  readonly sweeper: RevokedVoiceSweeper;
}

export class EngineNodeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineNodeConfigError';
  }
}

/** `0.0.0.0` or `::`: a listen address, not one anybody can connect to. */
function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** Node ids are part of a Redis key and of each signed request. */
const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * `npm run engine`: an engine node. It opens its own runtime (database, voice files,
 * backends, consent gate), serves `/v1/speak` on VOCALIS_ENGINE_LISTEN and announces
 * itself in Redis. It always needs the shared secret, on loopback too: any local user
 * could otherwise make it speak with anyone's voice on a claimed requester's behalf.
 * Stopping: leave the directory first (no new requests), let streams finish within half
 * the shutdown deadline (then end them with a typed error), then close the runtime.
 */
export async function startEngineNode(config: Config, logger: Logger, overrides: RuntimeOverrides = {}): Promise<RunningEngineNode> {
  const { secret } = config.engine;
  const listen = parseEngineAddress(config.engine.listen);
  if (!secret) {
    throw new EngineNodeConfigError(
      `VOCALIS_ENGINE_SECRET is required to run an engine node${isLoopback(listen.host) ? '' : ` (and it would listen on ${listen.host}, not a loopback address)`}`,
    );
  }
  if (!config.redisUrl) throw new EngineNodeConfigError('REDIS_URL is required to run an engine node: bots find nodes through Redis');
  const advertised = parseEngineAddress(config.engine.advertise);
  if (isUnspecified(advertised.host)) {
    throw new EngineNodeConfigError('VOCALIS_ENGINE_ADVERTISE: the node listens on every interface; set the address bots reach it at');
  }
  const nodeId = config.engine.nodeId ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
  if (!NODE_ID.test(nodeId)) throw new EngineNodeConfigError('VOCALIS_ENGINE_NODE_ID: letters, digits, dot, dash, underscore; at most 64');

  // The node synthesises here, whatever mode the shared configuration names for bots.
  const runtime = await openRuntime({ ...config, engine: { ...config.engine, mode: 'local' } }, logger, { queue: false }, overrides);
  const stops = shutdownEndingWith(runtime, logger);
  try {
    const redis = createRedisConnection(config.redisUrl, 'producer');
    logRedisOutages(redis, logger, 'engine node registration');
    stops.first('redis connection', async () => void (await redis.quit()));
    const sweeper = new RevokedVoiceSweeper(
      {
        stillConsented: (userId, voiceId) => {
          const live = runtime.consents.store.live(userId);
          return live !== null && runtime.voices.forConsent(live.id)?.id === voiceId;
        },
        evict: (voiceIds) => runtime.voiceCache.evict(voiceIds),
      },
      (error) => logger.warn({ err: error }, 'checking loaded voices against their consents failed'),
    );
    sweeper.start();
    stops.first('revoked-voice sweeper', () => sweeper.stop());
    const tls = config.engine.tls ? { cert: await readFile(config.engine.tls.cert), key: await readFile(config.engine.tls.key) } : undefined;
    const server = new EngineServer({
      ...(tls ? { tls } : {}),
      nodeId,
      secret,
      gate: runtime.gate,
      voices: runtime.voices,
      speech: runtime.speech,
      preparation: runtime.voicePreparation,
      sweeper,
      logger,
    });
    const port = await server.listen(listen.host, listen.port);
    stops.first(
      'engine server',
      () => server.close(config.shutdownTimeoutMs / 2),
      () => (server.activeStreams > 0 ? [`${server.activeStreams} streams`] : []),
    );
    const address = formatEngineAddress({ host: advertised.host, port: advertised.port === 0 ? port : advertised.port });
    const registration = new NodeRegistration({
      redis,
      nodeId,
      address,
      onError: (error) => logger.warn({ err: error }, 'engine node heartbeat failed'),
    });
    await registration.start();
    stops.first('node registration', () => registration.stop());
    logger.info(
      {
        nodeId,
        listen: formatEngineAddress({ host: listen.host, port }),
        address,
        tls: Boolean(tls),
        redis: redactRedisUrl(config.redisUrl),
        backends: runtime.backends.names(),
      },
      'engine node running',
    );
    return { nodeId, address, runtime, server, sweeper, stop: () => stops.run(), stillOpen: () => stops.stillOpen() };
  } catch (error) {
    await stops.run();
    throw error;
  }
}

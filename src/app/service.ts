import type { Config } from '../config/config.ts';
import { OperatorHttpServer } from '../observability/http-server.ts';
import type { Logger } from '../observability/logger.ts';
import { ServiceMetrics } from '../observability/metrics.ts';
import { openRuntime, shutdownEndingWith, type Runtime, type RuntimeOverrides } from './runtime.ts';
import type { DiscordShards } from './discord-shards.ts';
import { startPlatformAdapters, type PlatformAdapter, type PlatformAdapterOptions } from './platform-adapters.ts';
import type { Stoppable } from './process-lifecycle.ts';

/** How often retention rules run. Hourly is plenty for day-scale deadlines. */
const RETENTION_INTERVAL_MS = 60 * 60 * 1000;

export interface RunningService extends Stoppable {
  readonly runtime: Runtime;
  readonly httpPort: number;
}

/**
 * `npm start`: the engine, the embedded worker (unless disabled), the operator HTTP
 * endpoints, retention, and the platform adapters whose tokens are configured.
 * Stopped in reverse: adapters first (no new work), the runtime last (its embedded
 * Redis is the very last part to go).
 */
export async function startService(
  config: Config,
  logger: Logger,
  overrides: RuntimeOverrides = {},
  adapterOptions: PlatformAdapterOptions = {},
): Promise<RunningService> {
  // Run under runUntilSignal: this process stops Redis itself, last.
  const runtime = await openRuntime(config, logger, { queue: true, worker: config.runWorker, stopsOnSignals: true }, overrides);
  const stops = shutdownEndingWith(runtime, logger);
  try {
    const metrics = new ServiceMetrics({
      queueCounts: async () => (runtime.queue ? { ...(await runtime.queue.counts()) } : {}),
      activeStreams: () => runtime.synthesis.activeStreams,
    });
    // Job durations are measured from the attempt's start, per job id.
    const startedAt = new Map<string, number>();
    const finish = (jobId: string, outcome: string) => {
      const started = startedAt.get(jobId);
      startedAt.delete(jobId);
      metrics.jobsFinished.inc({ outcome });
      const backend = runtime.jobs.get(jobId)?.backend ?? 'unknown';
      if (started !== undefined) metrics.jobDuration.observe({ backend, outcome }, (performance.now() - started) / 1000);
    };
    runtime.worker?.on('active', (ref) => startedAt.set(ref.jobId, performance.now()));
    runtime.worker?.on('completed', (ref) => finish(ref.jobId, 'completed'));
    runtime.worker?.on('failed', (ref, failure) => finish(ref.jobId, failure.willRetry ? 'retried' : 'failed'));
    runtime.worker?.on('cancelled', (ref) => finish(ref.jobId, 'cancelled'));

    // Set once the Discord shards run (DISCORD_SHARDS): /healthz then has one check per shard.
    let discordShards: DiscordShards | undefined;
    const http = new OperatorHttpServer(metrics.registry, {
      checks: async () => ({
        ...Object.fromEntries((discordShards?.shards() ?? []).map((shard) => [`discordShard${shard.id}`, shard.state.status === 'ready'])),
        database: runtime.db.isOpen,
        queue: runtime.queue
          ? await runtime.queue.counts().then(
              () => true,
              () => false,
            )
          : false,
      }),
    });
    const httpPort = await http.listen(config.http.port, config.http.host);
    stops.first('operator HTTP server', () => http.close());

    const adapters: PlatformAdapter[] = await startPlatformAdapters(config, runtime, logger, adapterOptions);
    for (const adapter of adapters) {
      if ('shards' in adapter) discordShards = adapter as DiscordShards;
      stops.first(`${adapter.name} adapter`, () => adapter.stop(), 'stillOpen' in adapter ? () => (adapter as DiscordShards).stillOpen() : undefined);
    }

    const sweep = () => {
      runtime.retention.sweep().then(
        (report) => {
          const total = report.offersExpired + report.rawSamplesDeleted + report.voicesExpired;
          if (total > 0) {
            metrics.revocations.inc({ outcome: 'expired' }, report.voicesExpired + report.offersExpired);
            logger.info(report, 'retention applied');
          }
        },
        (error: unknown) => logger.error({ err: error }, 'retention sweep failed'),
      );
    };
    sweep();
    const timer = setInterval(sweep, RETENTION_INTERVAL_MS);
    timer.unref();
    stops.first('retention timer', () => clearInterval(timer));

    logger.info(
      {
        httpPort,
        backend: runtime.backends.defaultName,
        backends: runtime.backends.names(),
        worker: runtime.worker ? 'embedded' : 'external',
        adapters: adapters.map((a) => a.name),
      },
      'Vocalis is running',
    );
    return {
      runtime,
      httpPort,
      stop: () => stops.run(),
      stillOpen: () => stops.stillOpen(),
    };
  } catch (error) {
    await stops.run();
    throw error;
  }
}

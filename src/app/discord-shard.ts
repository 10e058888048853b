import type { Config } from '../config/config.ts';
import { startDiscordAdapter } from '../bots/discord/discord-adapter.ts';
import type { Logger } from '../observability/logger.ts';
import { runUntilSignal, type Stoppable } from './process-lifecycle.ts';
import { openRuntime, shutdownEndingWith, type RuntimeOverrides } from './runtime.ts';

/**
 * One Discord shard process, started by the service's ShardingManager (src/app/discord-shards.ts):
 * the Discord adapter on a runtime of its own — the same database and Redis as the service
 * (the manager passes its REDIS_URL, so a shard never starts a Redis), synthesis wherever the
 * config says (in this process, or the engine nodes). No fine-tune worker and no retention here:
 * those run once, in the service. Stopped in reverse, as the service stops: the adapter first
 * (speech, recordings, voice connections), the runtime last.
 */
export async function startDiscordShard(config: Config, logger: Logger, overrides: RuntimeOverrides = {}): Promise<Stoppable> {
  if (!config.discord) throw new Error('a Discord shard needs DISCORD_TOKEN');
  const runtime = await openRuntime(config, logger, { queue: true, worker: false, stopsOnSignals: true }, overrides);
  const stops = shutdownEndingWith(runtime, logger);
  try {
    const adapter = await startDiscordAdapter({ config: { ...config.discord, streamLeadMs: config.streamLeadMs }, vocalis: runtime.vocalis, logger });
    stops.first('discord adapter', () => adapter.stop());
    logger.info({ pid: process.pid, backend: runtime.backends.defaultName }, 'discord shard is running');
    return { stop: () => stops.run(), stillOpen: () => stops.stillOpen() };
  } catch (error) {
    await stops.run();
    throw error;
  }
}

/**
 * The shard process's life: stopped cleanly on SIGTERM/SIGINT (the manager's kill, or a
 * terminal's Ctrl-C reaching the whole process group), and also when the manager is gone (its
 * IPC channel closes): an orphaned shard would otherwise keep its guilds while a new service
 * starts shards of its own.
 */
export async function runDiscordShardProcess(config: Config, logger: Logger, overrides: RuntimeOverrides = {}): Promise<void> {
  process.once('disconnect', () => {
    logger.warn('the shard manager is gone: stopping this shard');
    process.kill(process.pid, 'SIGTERM');
  });
  await runUntilSignal(logger, () => startDiscordShard(config, logger, overrides), { deadlineMs: config.shutdownTimeoutMs });
}

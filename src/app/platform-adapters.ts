import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import { startDiscordAdapter } from '../bots/discord/discord-adapter.ts';
import { startTelegramAdapter } from '../bots/telegram/telegram-adapter.ts';
import { startDiscordShards } from './discord-shards.ts';
import type { Runtime } from './runtime.ts';

/** A chat platform connected to the core. */
export interface PlatformAdapter {
  readonly name: string;
  stop(): Promise<void>;
}

export interface PlatformAdapterOptions {
  /** The Discord shard process's entry file (tests give one with their own backend). */
  readonly discordShardEntry?: string;
}

/**
 * Starts an adapter only when its token is configured, and says which ones run, so an
 * operator never wonders why a bot is silent. With DISCORD_SHARDS the Discord adapter runs in
 * shard processes instead, which share this process's Redis.
 */
export async function startPlatformAdapters(
  config: Config,
  runtime: Runtime,
  logger: Logger,
  options: PlatformAdapterOptions = {},
): Promise<PlatformAdapter[]> {
  const adapters: PlatformAdapter[] = [];
  if (!config.discord) logger.info('Discord adapter off: DISCORD_TOKEN is not set');
  else if (config.discord.shards !== undefined) {
    if (!runtime.redisUrl) throw new Error('Discord shards need the Redis of this process');
    adapters.push(
      await startDiscordShards({
        discord: { ...config.discord, shards: config.discord.shards },
        logger,
        env: { REDIS_URL: runtime.redisUrl },
        ...(options.discordShardEntry ? { entry: options.discordShardEntry } : {}),
      }),
    );
  } else adapters.push(await startDiscordAdapter({ config: { ...config.discord, streamLeadMs: config.streamLeadMs }, vocalis: runtime.vocalis, logger }));
  if (!config.telegram) logger.info('Telegram adapter off: TELEGRAM_TOKEN is not set');
  else {
    const { apiRoot, ...telegram } = config.telegram;
    adapters.push(await startTelegramAdapter({ config: telegram, vocalis: runtime.vocalis, logger, ...(apiRoot ? { apiRoot } : {}) }));
  }
  if (adapters.length === 0) logger.info('running the engine, the worker and the operator interfaces (CLI, /healthz, /metrics) without chat platforms');
  return adapters;
}

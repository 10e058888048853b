import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import { startDiscordAdapter } from '../bots/discord/discord-adapter.ts';
import { startTelegramAdapter } from '../bots/telegram/telegram-adapter.ts';
import type { Runtime } from './runtime.ts';

/** A chat platform connected to the core. */
export interface PlatformAdapter {
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * Starts an adapter only when its token is configured, and says which ones run, so an
 * operator never wonders why a bot is silent.
 */
export async function startPlatformAdapters(config: Config, runtime: Runtime, logger: Logger): Promise<PlatformAdapter[]> {
  const adapters: PlatformAdapter[] = [];
  if (!config.discord) logger.info('Discord adapter off: DISCORD_TOKEN is not set');
  else adapters.push(await startDiscordAdapter({ config: { ...config.discord, streamLeadMs: config.streamLeadMs }, vocalis: runtime.vocalis, logger }));
  if (!config.telegram) logger.info('Telegram adapter off: TELEGRAM_TOKEN is not set');
  else {
    const { apiRoot, ...telegram } = config.telegram;
    adapters.push(await startTelegramAdapter({ config: telegram, vocalis: runtime.vocalis, logger, ...(apiRoot ? { apiRoot } : {}) }));
  }
  if (adapters.length === 0) logger.info('running the engine, the worker and the operator interfaces (CLI, /healthz, /metrics) without chat platforms');
  return adapters;
}

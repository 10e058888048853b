import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Telegraf } from 'telegraf';
import type { Config } from '../../config/config.ts';
import { RateLimiter } from '../../core/rate-limiter.ts';
import type { Vocalis } from '../../core/vocalis.ts';
import type { Logger } from '../../observability/logger.ts';
import type { BotContext } from './bot-context.ts';
import { ClipWork } from './clip-work.ts';
import { CloneFollower } from './clone-status.ts';
import { composeBot } from './compose-bot.ts';
import { BOT_API_DOWNLOAD_LIMIT } from './file-download.ts';
import type { HandlerDeps } from './handler-deps.ts';
import { InFlight } from './in-flight.ts';
import { Outbox } from './outbox.ts';
import { SpeechFirst } from './speech-first.ts';
import type { SendQueueOptions } from './send-queue.ts';
import { commandMenu } from './start-help.ts';

export type TelegramAdapterConfig = Omit<NonNullable<Config['telegram']>, 'webhookPort' | 'webhookHost' | 'apiRoot'> & {
  /** Local port the webhook server listens on (webhook mode only). Default 8443. */
  readonly webhookPort?: number;
  readonly webhookHost?: string;
  /** /speak allowance per user and per chat: a burst of `capacity`, refilled at `perMinute`. */
  readonly speakLimit?: { readonly capacity: number; readonly perMinute: number };
  /** Overrides of the outgoing limits (tests); Telegram's documented limits by default. */
  readonly sendQueue?: SendQueueOptions;
  /** How often a followed fine-tune is polled for progress. Default 1000 ms. */
  readonly jobWatchMs?: number;
  /** Largest file to download; the Bot API's 20 MB by default. */
  readonly maxDownloadBytes?: number;
  /** Voice clips processed at once (decode, VAD, verdict); default half the CPUs, at least 1. */
  readonly clipConcurrency?: number;
};

export interface TelegramAdapter {
  readonly name: 'telegram';
  readonly mode: 'polling' | 'webhook';
  stop(): Promise<void>;
}

const DEFAULT_WEBHOOK_PORT = 8443;
/** How long stop() lets running handlers finish before the send queues close. */
const STOP_GRACE_MS = 30_000;
/**
 * How long stop() waits for the polling loop. With the Bot API unreachable, telegraf sleeps
 * 5 s between failed getUpdates calls and bot.stop() does not cut the sleep short; the loop
 * checks its stop flag when it wakes and takes no update after it, so there is nothing to wait for.
 */
const POLLING_STOP_MS = 1_000;

/**
 * Connects the core to Telegram: long polling by default, or a webhook served on a
 * local port when TELEGRAM_WEBHOOK_URL is set (put a TLS reverse proxy in front).
 * `apiRoot` points the client at another Bot API server (tests' fake, a local server).
 */
export async function startTelegramAdapter(options: {
  config: TelegramAdapterConfig;
  vocalis: Vocalis;
  logger: Logger;
  apiRoot?: string;
}): Promise<TelegramAdapter> {
  const { config, vocalis } = options;
  const logger = options.logger.child({ adapter: 'telegram' });
  const bot = new Telegraf<BotContext>(config.token, { telegram: options.apiRoot ? { apiRoot: options.apiRoot } : {} });
  const outbox = new Outbox(bot.telegram, logger, config.sendQueue);
  const clones = new CloneFollower({ vocalis, outbox, logger, ...(config.jobWatchMs ? { intervalMs: config.jobWatchMs } : {}) });
  const inFlight = new InFlight();
  const speechFirst = new SpeechFirst();
  const deps: HandlerDeps = {
    vocalis,
    outbox,
    logger,
    operatorIds: new Set(config.operatorIds),
    speakLimiter: new RateLimiter(config.speakLimit ?? { capacity: 3, perMinute: 6 }),
    clones,
    clipWork: new ClipWork(inFlight, speechFirst, config.clipConcurrency ?? defaultClipConcurrency()),
    speechFirst,
    inFlight,
    maxDownloadBytes: config.maxDownloadBytes ?? BOT_API_DOWNLOAD_LIMIT,
  };
  composeBot(bot, deps);
  // Last resort: errorReply handles failures of handlers; this only sees failures of the reply itself.
  bot.catch((error, ctx) => {
    logger.error(
      { updateId: ctx.update.update_id, errorName: error instanceof Error ? error.name : typeof error },
      'telegram update failed outside the handlers',
    );
  });

  bot.botInfo = await bot.telegram.getMe();
  await Promise.all([outbox.setCommands(commandMenu('en')), outbox.setCommands(commandMenu('zh'), 'zh')]).catch(() => {
    logger.warn('could not register the command menu; commands still work');
  });

  let polling: Promise<void> | undefined;
  const mode = config.webhookUrl ? 'webhook' : 'polling';
  if (config.webhookUrl) {
    const url = new URL(config.webhookUrl);
    await bot.launch({
      webhook: {
        domain: url.host,
        path: url.pathname,
        port: config.webhookPort ?? DEFAULT_WEBHOOK_PORT,
        ...(config.webhookHost ? { host: config.webhookHost } : {}),
        secretToken: webhookSecret(config.token),
      },
    });
  } else {
    // launch() resolves only when polling ends; keep the promise to await on stop.
    polling = bot.launch({ allowedUpdates: ['message', 'callback_query'] }).catch((error: unknown) => {
      logger.error({ errorName: error instanceof Error ? error.name : typeof error }, 'telegram polling ended with an error');
    });
  }
  logger.info({ mode, botId: bot.botInfo.id }, 'telegram adapter started');

  let stopped = false;
  return {
    name: 'telegram',
    mode,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        bot.stop('adapter stop');
      } catch {
        // telegraf throws when polling already ended on its own; there is nothing left to stop.
      }
      await Promise.race([polling, sleep(POLLING_STOP_MS, undefined, { ref: false })]);
      // Updates already taken are finished (a clip being analysed, a voice being synthesised).
      await deps.inFlight.idle(STOP_GRACE_MS);
      clones.stopAll();
      await outbox.close();
      logger.info('telegram adapter stopped');
    },
  };
}

/** Half the CPUs, so clip analysis never takes every core from synthesis. */
function defaultClipConcurrency(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

/** Telegram echoes this in X-Telegram-Bot-Api-Secret-Token; derived from the token so restarts agree. */
export function webhookSecret(token: string): string {
  return createHash('sha256').update(`vocalis-webhook:${token}`).digest('hex');
}

import { TelegramError, type Telegram } from 'telegraf';
import type { ChatMember, InlineKeyboardButton, Message, ReplyParameters, BotCommand } from 'telegraf/types';
import type { Logger } from '../../observability/logger.ts';
import { SendQueue, SendQueueClosedError, type SendQueueOptions } from './send-queue.ts';

export interface TextOptions {
  readonly replyTo?: number;
  readonly buttons?: readonly (readonly InlineKeyboardButton[])[];
}

export interface VoiceOptions {
  readonly caption: string;
  readonly replyTo?: number;
  readonly durationSeconds?: number;
}

/** Control calls (callback answers, getFile, admin lists) are not chat messages: one lane, only the overall cap. */
const CONTROL_LANE = 'control';

/**
 * Every outgoing Bot API call of the adapter goes through here, and from here through
 * a SendQueue: messages through one that keeps Telegram's per-chat, per-group and
 * overall limits, everything else through a second one with only an overall cap, so
 * answering a button never waits behind a chat's message spacing. Both retry on 429.
 */
export class Outbox {
  readonly #telegram: Telegram;
  readonly #messages: SendQueue;
  readonly #control: SendQueue;
  readonly #logger: Logger;

  constructor(telegram: Telegram, logger: Logger, options: SendQueueOptions = {}) {
    this.#telegram = telegram;
    this.#logger = logger;
    const queueLogger = { warn: (details: Record<string, unknown>, message: string) => logger.warn(details, message) };
    this.#messages = new SendQueue({ logger: queueLogger, ...options });
    this.#control = new SendQueue({ logger: queueLogger, perChatIntervalMs: 0, isGroupChat: () => false, globalPerSecond: options.globalPerSecond ?? 30 });
  }

  /** Calls not yet answered, messages and control together. */
  get pending(): number {
    return this.#messages.size + this.#control.size;
  }

  sendText(chatId: number, text: string, options: TextOptions = {}): Promise<Message.TextMessage> {
    return this.#messages.enqueue(chatId, () =>
      this.#telegram.sendMessage(chatId, text, {
        ...replyParameters(options.replyTo),
        ...(options.buttons ? { reply_markup: { inline_keyboard: options.buttons.map((row) => [...row]) } } : {}),
      }),
    );
  }

  /** Fire-and-forget send: the handler does not wait for the chat's turn; failures are logged. */
  post(chatId: number, text: string, options: TextOptions = {}): void {
    this.#settle(this.sendText(chatId, text, options), chatId, 'sendMessage');
  }

  /** Replaces a message's text and drops its buttons; "not modified" is not an error here. */
  async editText(chatId: number, messageId: number, text: string): Promise<void> {
    try {
      await this.#messages.enqueue(chatId, () => this.#telegram.editMessageText(chatId, messageId, undefined, text));
    } catch (error) {
      if (!isNotModified(error)) throw error;
    }
  }

  sendVoice(chatId: number, ogg: Uint8Array, options: VoiceOptions): Promise<Message.VoiceMessage> {
    return this.#messages.enqueue(chatId, () =>
      this.#telegram.sendVoice(
        chatId,
        { source: Buffer.from(ogg.buffer, ogg.byteOffset, ogg.byteLength), filename: 'voice.ogg' },
        {
          caption: options.caption,
          ...(options.durationSeconds !== undefined ? { duration: Math.max(1, Math.round(options.durationSeconds)) } : {}),
          // telegraf 4.16 drops object-valued reply_parameters from multipart uploads; pre-serialised JSON passes.
          ...(options.replyTo !== undefined
            ? { reply_parameters: JSON.stringify({ message_id: options.replyTo, allow_sending_without_reply: true }) as unknown as ReplyParameters }
            : {}),
        },
      ),
    );
  }

  answerCallback(queryId: string, text?: string, alert = false): Promise<boolean> {
    return this.#control.enqueue(CONTROL_LANE, () => this.#telegram.answerCbQuery(queryId, text, alert ? { show_alert: true } : {}));
  }

  chatAdministrators(chatId: number): Promise<ChatMember[]> {
    return this.#control.enqueue(CONTROL_LANE, () => this.#telegram.getChatAdministrators(chatId));
  }

  /** getFile, then the download URL. The URL contains the bot token: never log it. */
  fileLink(fileId: string): Promise<URL> {
    return this.#control.enqueue(CONTROL_LANE, () => this.#telegram.getFileLink(fileId));
  }

  setCommands(commands: readonly BotCommand[], languageCode?: string): Promise<true> {
    return this.#control.enqueue(CONTROL_LANE, () => this.#telegram.setMyCommands([...commands], languageCode ? { language_code: languageCode } : {}));
  }

  /** Logs a background call's failure (ids and codes only). */
  settle(promise: Promise<unknown>, chatId: number, method: string): void {
    this.#settle(promise, chatId, method);
  }

  /** Waits up to `timeoutMs` for queued calls to go out, then rejects whatever is left. */
  async close(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    await Promise.all([this.#messages.close(), this.#control.close()]);
  }

  #settle(promise: Promise<unknown>, chatId: number, method: string): void {
    promise.catch((error: unknown) => {
      if (error instanceof SendQueueClosedError) return;
      this.#logger.warn({ chatId, method, errorCode: telegramErrorCode(error) }, 'telegram call failed');
    });
  }
}

function replyParameters(replyTo: number | undefined): { reply_parameters?: ReplyParameters } {
  return replyTo === undefined ? {} : { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } };
}

/** The Bot API error code of a failed call, or undefined for anything else. Descriptions are not logged. */
export function telegramErrorCode(error: unknown): number | undefined {
  return error instanceof TelegramError ? error.code : undefined;
}

export function telegramErrorDescription(error: unknown): string {
  return error instanceof TelegramError ? error.description : '';
}

function isNotModified(error: unknown): boolean {
  return telegramErrorCode(error) === 400 && /message is not modified/i.test(telegramErrorDescription(error));
}

import { tooManyRequests, type ApiError } from './types.ts';

export interface FloodLimits {
  /** Minimum spacing between messages to one chat (real: ~1/s). */
  readonly perChatIntervalMs: number;
  /** Messages per minute allowed into one group (negative chat id). */
  readonly groupPerMinute: number;
  /** Messages per second across all chats. */
  readonly globalPerSecond: number;
  /**
   * Slack for scheduling jitter between the client's dispatch and our receipt;
   * windows are shortened by this much. Real Telegram is far less exact.
   */
  readonly toleranceMs: number;
}

export const REAL_FLOOD_LIMITS: FloodLimits = {
  perChatIntervalMs: 1000,
  groupPerMinute: 20,
  globalPerSecond: 30,
  toleranceMs: 0,
};

/** Methods that put a message into a chat and therefore count against the flood limits. */
const MESSAGE_METHODS = new Set([
  'sendmessage',
  'sendvoice',
  'sendaudio',
  'senddocument',
  'sendphoto',
  'sendvideo',
  'sendanimation',
  'sendsticker',
  'sendmediagroup',
  'sendvideonote',
  'forwardmessage',
  'copymessage',
  'editmessagetext',
  'editmessagecaption',
  'editmessagereplymarkup',
  'editmessagemedia',
]);

export function countsAgainstFloodLimits(method: string): boolean {
  return MESSAGE_METHODS.has(method.toLowerCase());
}

/** Sliding-window enforcement of Telegram's documented broadcast limits. */
export class FloodLimiter {
  readonly #limits: FloodLimits;
  readonly #global: number[] = [];
  readonly #perChat = new Map<number, number[]>();
  #violations = 0;

  constructor(limits: FloodLimits) {
    this.#limits = limits;
  }

  get violations(): number {
    return this.#violations;
  }

  /** Records an accepted message, or returns the 429 the real API would give. */
  admit(chatId: number, now: number): ApiError | undefined {
    const { perChatIntervalMs, groupPerMinute, globalPerSecond, toleranceMs } = this.#limits;
    const chatLog = this.#perChat.get(chatId) ?? [];
    const waits: number[] = [];

    const last = chatLog.at(-1);
    if (last !== undefined && now - last < perChatIntervalMs - toleranceMs) waits.push(last + perChatIntervalMs - now);
    if (chatId < 0) {
      const windowMs = 60_000 - toleranceMs;
      const recent = chatLog.filter((t) => now - t < windowMs);
      const oldest = recent[0];
      if (recent.length >= groupPerMinute && oldest !== undefined) waits.push(oldest + 60_000 - now);
    }
    const windowMs = 1000 - toleranceMs;
    while (this.#global.length > 0 && now - (this.#global[0] ?? now) >= windowMs) this.#global.shift();
    const oldestGlobal = this.#global[0];
    if (this.#global.length >= globalPerSecond && oldestGlobal !== undefined) waits.push(oldestGlobal + 1000 - now);

    if (waits.length > 0) {
      this.#violations += 1;
      return tooManyRequests(Math.max(1, Math.ceil(Math.max(...waits) / 1000)));
    }
    chatLog.push(now);
    // Keep only what the 60 s group window can still need.
    while (chatLog.length > 0 && now - (chatLog[0] ?? now) > 60_000) chatLog.shift();
    this.#perChat.set(chatId, chatLog);
    this.#global.push(now);
    return undefined;
  }
}

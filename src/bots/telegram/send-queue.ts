/**
 * Outgoing Bot API call scheduler. Telegram throttles bots at roughly 1 message/s
 * per chat, 20/min per group and 30/s overall, answering 429 with retry_after when
 * exceeded. This queue keeps under those limits, serves chats round-robin so one
 * busy chat cannot starve the others, and retries calls that were rate limited anyway.
 * It knows nothing about telegraf: callers pass thunks that perform the API call.
 */

export type ChatId = number | string;

/** Time source and timers, injectable so tests can run the schedule on a virtual clock. */
export interface SendQueueTimer {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimer: SendQueueTimer = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Structured logging hook (pino-compatible); only ids and numbers are passed. */
export interface SendQueueLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export interface SendQueueOptions {
  /** Minimum time between two calls to the same chat. Default 1000 ms. */
  readonly perChatIntervalMs?: number;
  /** Calls per rolling minute into one group chat. Default 20. */
  readonly groupPerMinute?: number;
  /** Calls per rolling second across all chats. Default 30. */
  readonly globalPerSecond?: number;
  /** Retries of one call after 429 before its caller gets the error. Default 3. */
  readonly maxRetries?: number;
  /** A 429 asking to wait longer than this is passed to the caller instead. Default 120 s. */
  readonly maxRetryAfterSeconds?: number;
  /** 429s from this many distinct chats within globalFloodWindowMs pause every chat. Default 3. */
  readonly globalFloodChats?: number;
  readonly globalFloodWindowMs?: number;
  /** Which chats get the group limit. Default: negative ids (groups, supergroups, channels). */
  readonly isGroupChat?: (chatId: ChatId) => boolean;
  readonly timer?: SendQueueTimer;
  readonly logger?: SendQueueLogger;
}

/** The part of telegraf's TelegramError (typings/core/network/error.d.ts) that a 429 carries. */
export interface RateLimitError {
  readonly response: {
    readonly error_code: 429;
    readonly parameters: { readonly retry_after: number };
  };
}

/** True for a Bot API 429 that says how long to wait (telegraf's TelegramError or the same shape). */
export function isRateLimitError(error: unknown): error is RateLimitError {
  if (typeof error !== 'object' || error === null || !('response' in error)) return false;
  const response = error.response;
  if (typeof response !== 'object' || response === null) return false;
  if (!('error_code' in response) || response.error_code !== 429) return false;
  if (!('parameters' in response)) return false;
  const parameters = response.parameters;
  return (
    typeof parameters === 'object' &&
    parameters !== null &&
    'retry_after' in parameters &&
    typeof parameters.retry_after === 'number' &&
    Number.isFinite(parameters.retry_after) &&
    parameters.retry_after >= 0
  );
}

export class SendQueueClosedError extends Error {
  override readonly name = 'SendQueueClosedError';
  readonly chatId: ChatId;

  constructor(chatId: ChatId, cause?: unknown) {
    super(`send queue closed before the call to chat ${String(chatId)} was sent`, cause === undefined ? undefined : { cause });
    this.chatId = chatId;
  }
}

interface Job {
  readonly run: () => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  retries: number;
}

/*
 * Every window is measured from when a call *finished*, not when it started:
 * Telegram counts a message somewhere between our send and its answer, so
 * spacing completions by the limit holds on Telegram's side whatever the
 * network jitter. An unfinished call occupies its slot until it finishes.
 */
interface Lane {
  readonly chatId: ChatId;
  readonly group: boolean;
  readonly jobs: Job[];
  /** The head job is running; the lane waits for it so order is kept even across retries. */
  busy: boolean;
  lastDone: number;
  /** Completion times within the last group window (groups only). */
  readonly recentDone: number[];
  pausedUntil: number;
  /** When this lane last got a turn (a counter); never-served lanes have 0 and go first. */
  servedTurn: number;
}

const MINUTE_MS = 60_000;
const SECOND_MS = 1000;

export class SendQueue {
  readonly #perChatIntervalMs: number;
  readonly #groupPerMinute: number;
  readonly #globalPerSecond: number;
  readonly #maxRetries: number;
  readonly #maxRetryAfterMs: number;
  readonly #globalFloodChats: number;
  readonly #globalFloodWindowMs: number;
  readonly #isGroupChat: (chatId: ChatId) => boolean;
  readonly #timer: SendQueueTimer;
  readonly #logger: SendQueueLogger | undefined;

  readonly #lanes = new Map<string, Lane>();
  #turn = 0;
  readonly #globalDone: number[] = [];
  #globalRunning = 0;
  readonly #recent429s: { chat: string; at: number }[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #globalPausedUntil = 0;
  #wakeHandle: unknown;
  #wakeAt = Infinity;
  #closed = false;

  constructor(options: SendQueueOptions = {}) {
    this.#perChatIntervalMs = options.perChatIntervalMs ?? 1000;
    this.#groupPerMinute = options.groupPerMinute ?? 20;
    this.#globalPerSecond = options.globalPerSecond ?? 30;
    this.#maxRetries = options.maxRetries ?? 3;
    this.#maxRetryAfterMs = (options.maxRetryAfterSeconds ?? 120) * 1000;
    this.#globalFloodChats = options.globalFloodChats ?? 3;
    this.#globalFloodWindowMs = options.globalFloodWindowMs ?? 1000;
    this.#isGroupChat = options.isGroupChat ?? defaultIsGroupChat;
    this.#timer = options.timer ?? systemTimer;
    this.#logger = options.logger;
    if (this.#globalPerSecond < 1 || this.#groupPerMinute < 1) throw new RangeError('rate limits must allow at least one call');
  }

  /** Calls waiting or running. */
  get size(): number {
    let total = 0;
    for (const lane of this.#lanes.values()) total += lane.jobs.length;
    return total;
  }

  /** Runs `call` when the limits allow; resolves or rejects with its outcome. FIFO per chat. */
  enqueue<T>(chatId: ChatId, call: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new SendQueueClosedError(chatId));
    return new Promise<T>((resolve, reject) => {
      const lane = this.#lane(chatId);
      lane.jobs.push({ run: call, resolve: resolve as (value: unknown) => void, reject, retries: 0 });
      this.#pump();
    });
  }

  /** Rejects everything not yet sent with SendQueueClosedError; resolves once running calls settle. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#cancelWake();
      for (const lane of this.#lanes.values()) {
        // A busy lane's head job is on the wire; it settles on its own.
        const waiting = lane.jobs.splice(lane.busy ? 1 : 0);
        for (const job of waiting) job.reject(new SendQueueClosedError(lane.chatId));
      }
    }
    await Promise.allSettled([...this.#inFlight]);
  }

  #lane(chatId: ChatId): Lane {
    const key = String(chatId);
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = {
        chatId,
        group: this.#isGroupChat(chatId),
        jobs: [],
        busy: false,
        lastDone: -Infinity,
        recentDone: [],
        pausedUntil: -Infinity,
        servedTurn: 0,
      };
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  /** Starts every call the limits allow now, then sleeps until the earliest next opportunity. */
  #pump(): void {
    if (this.#closed) return;
    const now = this.#timer.now();
    let wakeAt = Infinity;
    // Least recently served first (stable sort keeps arrival order among ties): round-robin fairness.
    const ordered = [...this.#lanes].sort(([, a], [, b]) => a.servedTurn - b.servedTurn);
    for (const [key, lane] of ordered) {
      if (lane.busy) continue;
      if (lane.jobs.length === 0) {
        if (this.#laneForgettable(lane, now)) this.#lanes.delete(key);
        continue;
      }
      const laneReady = this.#laneReadyAt(lane);
      if (laneReady > now) {
        wakeAt = Math.min(wakeAt, laneReady);
        continue;
      }
      const globalReady = this.#globalReadyAt(now);
      if (globalReady > now) {
        wakeAt = Math.min(wakeAt, globalReady);
        break;
      }
      this.#start(lane);
    }
    this.#scheduleWake(wakeAt, now);
  }

  #laneReadyAt(lane: Lane): number {
    let ready = Math.max(lane.lastDone + this.#perChatIntervalMs, lane.pausedUntil, this.#globalPausedUntil);
    if (lane.group && lane.recentDone.length >= this.#groupPerMinute) {
      const oldestInWindow = lane.recentDone[lane.recentDone.length - this.#groupPerMinute] ?? -Infinity;
      ready = Math.max(ready, oldestInWindow + MINUTE_MS);
    }
    return ready;
  }

  #globalReadyAt(now: number): number {
    while (this.#globalDone.length > 0 && (this.#globalDone[0] ?? now) + SECOND_MS <= now) this.#globalDone.shift();
    if (this.#globalRunning + this.#globalDone.length < this.#globalPerSecond) return now;
    // All slots taken by running calls: their completion pumps again.
    const oldest = this.#globalDone[0];
    return oldest === undefined ? Infinity : oldest + SECOND_MS;
  }

  #laneForgettable(lane: Lane, now: number): boolean {
    return now >= this.#laneReadyAt(lane) && (!lane.group || (lane.recentDone.at(-1) ?? -Infinity) + MINUTE_MS <= now);
  }

  #start(lane: Lane): void {
    const job = lane.jobs[0];
    if (job === undefined) return;
    lane.busy = true;
    this.#globalRunning += 1;
    this.#turn += 1;
    lane.servedTurn = this.#turn;

    const settled = new Promise<unknown>((resolve) => resolve(job.run())).then(
      (value) => {
        this.#recordCompletion(lane);
        this.#finish(lane, () => job.resolve(value));
      },
      (error: unknown) => {
        this.#recordCompletion(lane);
        this.#failed(lane, job, error);
      },
    );
    this.#inFlight.add(settled);
    void settled.finally(() => this.#inFlight.delete(settled));
  }

  /** A finished call, failed or not, reached Telegram: it counts against every window from now. */
  #recordCompletion(lane: Lane): void {
    const now = this.#timer.now();
    this.#globalRunning -= 1;
    this.#globalDone.push(now);
    lane.lastDone = now;
    if (lane.group) {
      lane.recentDone.push(now);
      while (lane.recentDone.length > this.#groupPerMinute) lane.recentDone.shift();
    }
  }

  #failed(lane: Lane, job: Job, error: unknown): void {
    const retryAfterMs = isRateLimitError(error) ? error.response.parameters.retry_after * 1000 : undefined;
    const retryable = retryAfterMs !== undefined && job.retries < this.#maxRetries && retryAfterMs <= this.#maxRetryAfterMs;
    if (!retryable || this.#closed) {
      const reason = this.#closed && retryable ? new SendQueueClosedError(lane.chatId, error) : error;
      this.#finish(lane, () => job.reject(reason));
      return;
    }
    job.retries += 1;
    const now = this.#timer.now();
    lane.pausedUntil = Math.max(lane.pausedUntil, now + retryAfterMs);
    const global = this.#noteRateLimit(String(lane.chatId), now);
    if (global) this.#globalPausedUntil = Math.max(this.#globalPausedUntil, now + retryAfterMs);
    this.#logger?.warn(
      { chatId: lane.chatId, retryAfterSeconds: retryAfterMs / 1000, retry: job.retries, scope: global ? 'global' : 'chat' },
      'telegram rate limit hit; pausing before retry',
    );
    lane.busy = false;
    this.#pump();
  }

  /** Records a 429 and reports whether enough distinct chats were hit to assume a bot-wide flood. */
  #noteRateLimit(chat: string, now: number): boolean {
    this.#recent429s.push({ chat, at: now });
    while (this.#recent429s.length > 0 && (this.#recent429s[0]?.at ?? now) + this.#globalFloodWindowMs < now) {
      this.#recent429s.shift();
    }
    return new Set(this.#recent429s.map((entry) => entry.chat)).size >= this.#globalFloodChats;
  }

  #finish(lane: Lane, settle: () => void): void {
    lane.jobs.shift();
    lane.busy = false;
    settle();
    this.#pump();
  }

  #scheduleWake(wakeAt: number, now: number): void {
    if (wakeAt === Infinity) {
      this.#cancelWake();
      return;
    }
    if (this.#wakeHandle !== undefined && this.#wakeAt <= wakeAt) return;
    this.#cancelWake();
    this.#wakeAt = wakeAt;
    this.#wakeHandle = this.#timer.setTimeout(
      () => {
        this.#wakeHandle = undefined;
        this.#wakeAt = Infinity;
        this.#pump();
      },
      Math.max(0, wakeAt - now),
    );
  }

  #cancelWake(): void {
    if (this.#wakeHandle !== undefined) this.#timer.clearTimeout(this.#wakeHandle);
    this.#wakeHandle = undefined;
    this.#wakeAt = Infinity;
  }
}

function defaultIsGroupChat(chatId: ChatId): boolean {
  return typeof chatId === 'number' ? chatId < 0 : chatId.startsWith('-') || chatId.startsWith('@');
}

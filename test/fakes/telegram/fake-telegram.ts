import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BotCommand, ChatMember, Message, Update, User } from 'telegraf/types';
import { ChatStore } from './chat-store.ts';
import { FaultInjector, type FaultScope } from './fault-injector.ts';
import { FileStore, type AddFileOptions } from './file-store.ts';
import { countsAgainstFloodLimits, FloodLimiter, REAL_FLOOD_LIMITS, type FloodLimits } from './flood-limiter.ts';
import { lookupMethod, type WebhookState } from './methods.ts';
import { chatIdOf, compose, type ApiCall, type ApiMiddleware } from './pipeline.ts';
import { BadRequestBodyError, PayloadTooLargeError, readRequestParams } from './request-params.ts';
import { MultipartError } from './multipart.ts';
import { ApiError, badRequest, type ApiResponse, type RecordedCall } from './types.ts';
import { UpdateBuilders } from './update-builders.ts';
import { UpdateQueue } from './update-queue.ts';

export interface FakeTelegramOptions {
  /** Defaults to a random, well-formed `<botId>:<secret>` token. */
  readonly token?: string;
  readonly botId?: number;
  readonly botUsername?: string;
  /** Start in enforcement mode (see enforceFloodLimits). */
  readonly enforceFloodLimits?: boolean;
  readonly floodLimits?: Partial<FloodLimits>;
  /** Multipart uploads above this answer 413, like the real 50 MB limit. */
  readonly maxUploadBytes?: number;
}

export interface SentVoice {
  readonly chatId: number;
  readonly caption: string | undefined;
  readonly filename: string;
  readonly bytes: Buffer;
  readonly message: Message.VoiceMessage;
}

type CallPredicate = (call: RecordedCall) => boolean;

const DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024;

/** A hermetic Bot API server the real telegraf client can talk to over localhost HTTP. */
export class FakeTelegram {
  readonly token: string;
  readonly bot: User;
  readonly updates: UpdateBuilders;
  readonly #server: Server;
  readonly #chats = new ChatStore();
  readonly #files = new FileStore();
  readonly #queue = new UpdateQueue();
  readonly #faults = new FaultInjector();
  readonly #webhook: WebhookState = { url: '', params: {} };
  readonly #commands = new Map<string, BotCommand[]>();
  readonly #callbackQueries = new Map<string, boolean>();
  readonly #calls: RecordedCall[] = [];
  readonly #listeners = new Set<(call: RecordedCall) => void>();
  readonly #floodLimits: FloodLimits;
  readonly #maxUploadBytes: number;
  readonly #dispatch: (call: ApiCall, onAbort: (cancel: () => void) => void) => Promise<unknown>;
  #flood: FloodLimiter | undefined;
  #closing = false;
  #apiRoot = '';

  constructor(options: FakeTelegramOptions = {}) {
    const botId = options.botId ?? 7_000_000_001;
    this.token = options.token ?? `${botId}:AA${randomBytes(24).toString('base64url')}`;
    this.bot = { id: botId, is_bot: true, first_name: 'Vocalis Test', username: options.botUsername ?? 'vocalis_test_bot' };
    this.updates = new UpdateBuilders(this.#chats, this.#files, botId);
    this.#floodLimits = { ...REAL_FLOOD_LIMITS, ...options.floodLimits };
    this.#maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD;
    if (options.enforceFloodLimits === true) this.enforceFloodLimits(true);
    this.#dispatch = this.#buildPipeline();
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, new ApiError(500, `Internal Server Error: ${String(error)}`).toResponse(), 500);
      });
    });
  }

  /** Pass as `new Telegraf(token, { telegram: { apiRoot } })`. */
  get apiRoot(): string {
    return this.#apiRoot;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.#server.address() as AddressInfo;
    this.#apiRoot = `http://127.0.0.1:${port}`;
    return this;
  }

  /** Queues an update for getUpdates and remembers its messages, chat and callback id. */
  pushUpdate<U extends Update>(update: U): U {
    const message = 'message' in update ? update.message : 'edited_message' in update ? update.edited_message : undefined;
    if (message !== undefined) {
      this.#chats.rememberChat(message.chat);
      this.#chats.storeMessage(message);
      if (message.from !== undefined && message.chat.type !== 'private') this.#chats.noteMember(message.chat.id, message.from);
    }
    if ('callback_query' in update) this.#callbackQueries.set(update.callback_query.id, false);
    this.#queue.push(update);
    return update;
  }

  /** Every recorded call, or those of one method (case-insensitive). */
  calls(method?: string): RecordedCall[] {
    if (method === undefined) return [...this.#calls];
    const lower = method.toLowerCase();
    return this.#calls.filter((c) => c.method.toLowerCase() === lower);
  }

  /** Resolves with the first answered call (past or future) matching method and predicate; `response` is set. */
  waitForCall(method: string, predicate: CallPredicate = () => true, timeoutMs = 5000): Promise<RecordedCall> {
    return this.#waitFor(method, predicate, timeoutMs, true);
  }

  /** Like waitForCall, but resolves as soon as the request arrives (e.g. a long poll still waiting). */
  waitForRequest(method: string, predicate: CallPredicate = () => true, timeoutMs = 5000): Promise<RecordedCall> {
    return this.#waitFor(method, predicate, timeoutMs, false);
  }

  #waitFor(method: string, predicate: CallPredicate, timeoutMs: number, answered: boolean): Promise<RecordedCall> {
    const lower = method.toLowerCase();
    const matches = (c: RecordedCall) => (!answered || c.response !== undefined) && c.method.toLowerCase() === lower && predicate(c);
    const existing = this.#calls.find(matches);
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const listener = (call: RecordedCall) => {
        if (!matches(call)) return;
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(call);
      };
      const timer = setTimeout(() => {
        this.#listeners.delete(listener);
        const seen = this.#calls
          .slice(-10)
          .map((c) => c.method)
          .join(', ');
        reject(new Error(`no ${method} call within ${timeoutMs} ms (last calls: ${seen || 'none'})`));
      }, timeoutMs);
      this.#listeners.add(listener);
    });
  }

  /** Registers downloadable content; returns its file_id for updates or getFile. */
  addFile(bytes: Uint8Array, options: AddFileOptions = {}): string {
    return this.#files.add(bytes, options).fileId;
  }

  /** The next `count` calls of `method` (`*` = any) answer 429 with retry_after. */
  failNext(method: string, count: number, retryAfterSeconds: number, scope: FaultScope = {}): void {
    this.#faults.rateLimitNext(method, count, retryAfterSeconds, scope);
  }

  /** The next `count` calls of `method` answer with an arbitrary API error (e.g. 403 blocked by user). */
  failNextWith(method: string, count: number, errorCode: number, description: string, scope: FaultScope = {}): void {
    this.#faults.failNext(method, count, () => new ApiError(errorCode, description), scope);
  }

  /** While on, messages beyond Telegram's flood limits answer 429; count them with floodViolations. */
  enforceFloodLimits(enabled: boolean): void {
    this.#flood = enabled ? new FloodLimiter(this.#floodLimits) : undefined;
  }

  get floodViolations(): number {
    return this.#flood?.violations ?? 0;
  }

  /** How many recorded calls were answered 429, whatever the cause. */
  get rateLimitedCount(): number {
    return this.#calls.filter((c) => c.response?.ok === false && c.response.error_code === 429).length;
  }

  /** Voices the bot uploaded (or re-sent by file_id), with their exact bytes. */
  sentVoices(chatId?: number): SentVoice[] {
    const voices: SentVoice[] = [];
    for (const call of this.calls('sendVoice')) {
      const response = call.response;
      if (response?.ok !== true) continue;
      const message = response.result as Message.VoiceMessage;
      if (chatId !== undefined && message.chat.id !== chatId) continue;
      const file = this.#files.get(message.voice.file_id);
      voices.push({
        chatId: message.chat.id,
        caption: message.caption,
        filename: call.uploads.find((u) => u.field === 'voice')?.filename ?? message.voice.file_id,
        bytes: file?.bytes ?? Buffer.alloc(0),
        message,
      });
    }
    return voices;
  }

  /** Current state of a chat's messages (user and bot), edits and deletions applied. */
  messages(chatId: number): Message[] {
    return this.#chats.messages(chatId);
  }

  botMessages(chatId: number): Message[] {
    return this.#chats.messages(chatId, this.bot.id);
  }

  setChatMember(chatId: number, member: ChatMember): void {
    this.#chats.setMember(chatId, member);
  }

  commands(scope: object = { type: 'default' }, languageCode = ''): BotCommand[] {
    return this.#commands.get(JSON.stringify([scope, languageCode])) ?? [];
  }

  get webhookUrl(): string {
    return this.#webhook.url;
  }

  /** Whether a callback query was answered (undefined: never pushed). */
  callbackAnswered(id: string): boolean | undefined {
    return this.#callbackQueries.get(id);
  }

  /** Stop the bot (bot.stop()) first; this ends pending long polls and drops connections. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#queue.releaseWaiter();
    for (const listener of this.#listeners) this.#listeners.delete(listener);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    setImmediate(() => this.#server.closeAllConnections());
    await closed;
  }

  #buildPipeline() {
    const faults: ApiMiddleware = async (call, next) => {
      const error = this.#faults.take(call.method, chatIdOf(call));
      if (error !== undefined) throw error;
      return next();
    };
    const flood: ApiMiddleware = async (call, next) => {
      const chatId = chatIdOf(call);
      if (this.#flood !== undefined && chatId !== undefined && countsAgainstFloodLimits(call.method)) {
        const error = this.#flood.admit(chatId, Date.now());
        if (error !== undefined) throw error;
      }
      return next();
    };
    return (call: ApiCall, onAbort: (cancel: () => void) => void) => {
      const terminal = (c: ApiCall) => {
        const found = lookupMethod(c.method);
        if (found === undefined) throw new ApiError(404, 'Not Found');
        return found[1]({
          method: c.method,
          params: this.#closing && c.method === 'getUpdates' ? { ...c.params, timeout: 0 } : c.params,
          uploads: c.uploads,
          bot: this.bot,
          chats: this.#chats,
          files: this.#files,
          updates: this.#queue,
          webhook: this.#webhook,
          commands: this.#commands,
          callbackQueries: this.#callbackQueries,
          onAbort,
        });
      };
      return compose([faults, flood], terminal)(call);
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file !== null) {
      req.resume();
      this.#serveFile(res, file[1] ?? '', decodeURIComponent(file[2] ?? ''));
      return;
    }
    const api = /^\/bot([^/]+)\/([A-Za-z]+)\/?$/.exec(url.pathname);
    if (api === null) {
      req.resume();
      send(res, new ApiError(404, 'Not Found').toResponse());
      return;
    }
    if (api[1] !== this.token) {
      req.resume();
      send(res, new ApiError(401, 'Unauthorized').toResponse());
      return;
    }
    const requested = api[2] ?? '';
    const method = lookupMethod(requested)?.[0] ?? requested;

    let call: ApiCall;
    let problem: string | undefined;
    try {
      const { params, uploads, malformed } = await readRequestParams(req, url, this.#maxUploadBytes);
      call = { method, params, uploads };
      problem = malformed[0];
    } catch (error) {
      const apiError =
        error instanceof PayloadTooLargeError
          ? new ApiError(413, 'Request Entity Too Large')
          : error instanceof BadRequestBodyError
            ? new ApiError(400, error.message)
            : error instanceof MultipartError
              ? new ApiError(400, `Bad Request: ${error.message}`)
              : undefined;
      if (apiError === undefined) throw error;
      send(res, apiError.toResponse(), apiError.code, true);
      return;
    }

    const record: RecordedCall = { method, params: call.params, uploads: call.uploads, at: Date.now() };
    this.#calls.push(record);
    this.#notify(record);
    const onAbort = (cancel: () => void) => {
      res.once('close', () => {
        if (!res.writableFinished) cancel();
      });
    };
    let response: ApiResponse;
    try {
      // Real Telegram rejects JSON fields it cannot parse; telegraf sends some objects as "[object Object]" in multipart.
      if (problem !== undefined) throw badRequest(`can't parse ${problem} JSON object`);
      response = { ok: true, result: await this.#dispatch(call, onAbort) };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      response = error.toResponse();
    }
    record.response = response;
    send(res, response, response.ok ? 200 : response.error_code);
    this.#notify(record);
  }

  #notify(record: RecordedCall): void {
    for (const listener of [...this.#listeners]) listener(record);
  }

  #serveFile(res: ServerResponse, token: string, filePath: string): void {
    if (token !== this.token) {
      send(res, new ApiError(401, 'Unauthorized').toResponse());
      return;
    }
    const file = this.#files.byPath(filePath);
    if (file === undefined) {
      send(res, new ApiError(404, 'Not Found').toResponse());
      return;
    }
    res.writeHead(200, {
      'content-type': file.mimeType ?? 'application/octet-stream',
      'content-length': String(file.bytes.length),
    });
    res.end(file.bytes);
  }
}

function send(res: ServerResponse, body: ApiResponse, status?: number, closeConnection = false): void {
  if (res.writableEnded || res.destroyed) return;
  const statusCode = status ?? (body.ok ? 200 : body.error_code);
  const payload = JSON.stringify(body);
  res.writeHead(statusCode, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    // After an unread request body the connection cannot be reused.
    ...(closeConnection ? { connection: 'close' } : {}),
  });
  res.end(payload);
}

export async function startFakeTelegram(options: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  return new FakeTelegram(options).listen();
}

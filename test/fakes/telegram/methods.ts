import type { BotCommand, ChatMember, InlineKeyboardMarkup, Message, User } from 'telegraf/types';
import type { ChatStore } from './chat-store.ts';
import { MAX_DOWNLOAD_BYTES, type FileStore, type StoredFile } from './file-store.ts';
import type { UpdateQueue } from './update-queue.ts';
import { ApiError, badRequest, type UploadedFile } from './types.ts';

/** Everything a Bot API method handler may touch. */
export interface MethodContext {
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly uploads: readonly UploadedFile[];
  readonly bot: User;
  readonly chats: ChatStore;
  readonly files: FileStore;
  readonly updates: UpdateQueue;
  readonly webhook: WebhookState;
  readonly commands: Map<string, BotCommand[]>;
  /** Callback query ids handed out in updates → whether they were answered. */
  readonly callbackQueries: Map<string, boolean>;
  /** Lets a long poll stop waiting when its client disconnects. */
  readonly onAbort: (cancel: () => void) => void;
}

export interface WebhookState {
  url: string;
  params: Record<string, unknown>;
}

export type MethodHandler = (ctx: MethodContext) => unknown;

const MAX_TEXT = 4096;
const MAX_CAPTION = 1024;
const MAX_CALLBACK_DATA_BYTES = 64;

export const METHODS: Readonly<Record<string, MethodHandler>> = {
  getMe: ({ bot }) => ({ ...bot, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false }),

  getUpdates: async ({ params, updates, webhook, onAbort }) => {
    if (webhook.url !== '') {
      throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    }
    const allowed = params.allowed_updates;
    return updates.poll(
      {
        ...optionalInt('offset', params.offset),
        ...optionalInt('limit', params.limit),
        ...optionalInt('timeout', params.timeout),
        ...(Array.isArray(allowed) ? { allowedUpdates: allowed.filter((a): a is string => typeof a === 'string') } : {}),
      },
      onAbort,
    );
  },

  setWebhook: ({ params, webhook, updates }) => {
    const url = stringParam(params, 'url', false);
    webhook.url = url;
    webhook.params = { ...params };
    if (params.drop_pending_updates === true) updates.dropPending();
    return true;
  },

  deleteWebhook: ({ params, webhook, updates }) => {
    webhook.url = '';
    webhook.params = {};
    if (params.drop_pending_updates === true) updates.dropPending();
    return true;
  },

  getWebhookInfo: ({ webhook, updates }) => ({
    url: webhook.url,
    has_custom_certificate: false,
    pending_update_count: updates.pendingCount,
  }),

  sendMessage: ({ params, bot, chats }) => {
    const chatId = chatIdParam(params);
    const text = stringParam(params, 'text', false);
    if (text.trim() === '') throw badRequest('message text is empty');
    if ([...text].length > MAX_TEXT) throw badRequest('message is too long');
    const message: Message.TextMessage = {
      ...newBotMessage(chats, bot, chatId, params),
      text,
      ...(Array.isArray(params.entities) ? { entities: params.entities } : {}),
    };
    chats.storeMessage(message);
    return message;
  },

  sendVoice: ({ params, uploads, bot, chats, files }) => {
    const chatId = chatIdParam(params);
    const caption = optionalCaption(params);
    const upload = uploads.find((u) => u.field === 'voice');
    let file: StoredFile | undefined;
    if (upload !== undefined) {
      file = files.add(upload.bytes, { kind: 'voice', extension: 'oga', mimeType: 'audio/ogg' });
    } else if (typeof params.voice === 'string') {
      file = files.get(params.voice);
      if (file === undefined) throw badRequest('wrong file identifier/HTTP URL specified');
    }
    if (file === undefined) throw badRequest('there is no voice in the request');
    const message: Message.VoiceMessage = {
      ...newBotMessage(chats, bot, chatId, params),
      voice: {
        file_id: file.fileId,
        file_unique_id: file.fileUniqueId,
        duration: typeof params.duration === 'number' ? params.duration : 0,
        mime_type: 'audio/ogg',
        file_size: file.size,
      },
      ...(caption !== undefined ? { caption } : {}),
    };
    chats.storeMessage(message);
    return message;
  },

  editMessageText: ({ params, chats }) => {
    const text = stringParam(params, 'text', false);
    if (text.trim() === '') throw badRequest('message text is empty');
    const existing = editableMessage(params, chats);
    if (!('text' in existing)) throw badRequest('there is no text in the message to edit');
    const markup = replyMarkup(params);
    if (existing.text === text && sameMarkup(existing.reply_markup, markup)) {
      throw badRequest(
        'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
      );
    }
    const edited: Message.TextMessage = withMarkup({ ...existing, text, edit_date: nowSeconds() }, markup);
    chats.storeMessage(edited);
    return edited;
  },

  editMessageCaption: ({ params, chats }) => {
    const existing = editableMessage(params, chats);
    if ('text' in existing) throw badRequest('there is no caption in the message to edit');
    const caption = optionalCaption(params);
    const markup = replyMarkup(params);
    const current = 'caption' in existing ? existing.caption : undefined;
    if (current === caption && sameMarkup((existing as Message.CommonMessage).reply_markup, markup)) {
      throw badRequest(
        'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
      );
    }
    const { caption: _old, ...rest } = existing as Message.CaptionableMessage;
    const edited = withMarkup({ ...rest, ...(caption !== undefined ? { caption } : {}), edit_date: nowSeconds() }, markup);
    chats.storeMessage(edited as Message);
    return edited;
  },

  deleteMessage: ({ params, chats }) => {
    const chatId = chatIdParam(params);
    const messageId = intParam(params, 'message_id');
    if (!chats.deleteMessage(chatId, messageId)) throw badRequest('message to delete not found');
    return true;
  },

  answerCallbackQuery: ({ params, callbackQueries }) => {
    const id = stringParam(params, 'callback_query_id', false);
    // Unknown or already answered ids are rejected like an expired query.
    if (callbackQueries.get(id) !== false) {
      throw badRequest('query is too old and response timeout expired or query ID is invalid');
    }
    callbackQueries.set(id, true);
    return true;
  },

  getFile: ({ params, files }) => {
    const file = files.get(stringParam(params, 'file_id', false));
    if (file === undefined) throw badRequest('invalid file_id');
    if (file.size > MAX_DOWNLOAD_BYTES) throw badRequest('file is too big');
    return files.describe(file);
  },

  sendChatAction: ({ params }) => {
    chatIdParam(params);
    stringParam(params, 'action', false);
    return true;
  },

  getChatAdministrators: ({ params, chats }) => {
    const chatId = chatIdParam(params);
    if (chats.chat(chatId).type === 'private') throw badRequest('there are no administrators in the private chat');
    return chats.administrators(chatId);
  },

  getChatMember: ({ params, chats, bot }) => {
    const chatId = chatIdParam(params);
    const userId = intParam(params, 'user_id');
    const known = chats.member(chatId, userId);
    if (known !== undefined) return known;
    const chat = chats.chat(chatId);
    if (userId === bot.id) return { status: 'member', user: bot } satisfies ChatMember;
    if (chat.type === 'private' && chat.id === userId) {
      return { status: 'member', user: { id: userId, is_bot: false, first_name: chat.first_name } } satisfies ChatMember;
    }
    if (chat.type === 'private') throw badRequest('user not found');
    return { status: 'left', user: { id: userId, is_bot: false, first_name: `User ${userId}` } } satisfies ChatMember;
  },

  setMyCommands: ({ params, commands }) => {
    const list = params.commands;
    if (!Array.isArray(list)) throw badRequest('parameter "commands" is required');
    for (const entry of list) {
      if (!isCommand(entry)) throw badRequest('BOT_COMMAND_INVALID');
    }
    commands.set(commandsKey(params), list as BotCommand[]);
    return true;
  },

  getMyCommands: ({ params, commands }) => commands.get(commandsKey(params)) ?? [],

  deleteMyCommands: ({ params, commands }) => {
    commands.delete(commandsKey(params));
    return true;
  },
};

export function lookupMethod(name: string): [string, MethodHandler] | undefined {
  // Method names are case-insensitive on the real API.
  const lower = name.toLowerCase();
  for (const [canonical, handler] of Object.entries(METHODS)) {
    if (canonical.toLowerCase() === lower) return [canonical, handler];
  }
  return undefined;
}

function newBotMessage(chats: ChatStore, bot: User, chatId: number, params: Readonly<Record<string, unknown>>) {
  const chat = chats.chat(chatId);
  const markup = replyMarkup(params);
  const replyToId = replyToMessageId(params);
  const replyTo = replyToId === undefined ? undefined : chats.message(chatId, replyToId);
  if (replyToId !== undefined && replyTo === undefined && params.allow_sending_without_reply !== true) {
    throw badRequest('message to be replied not found');
  }
  const base: Message.CommonMessage = { message_id: chats.nextMessageId(chatId), from: bot, chat, date: nowSeconds() };
  if (replyTo !== undefined) {
    const { reply_to_message: _nested, ...replied } = replyTo as Message.CommonMessage;
    base.reply_to_message = replied as NonNullable<Message.CommonMessage['reply_to_message']>;
  }
  return withMarkup(base, markup);
}

function withMarkup<M extends Message.CommonMessage>(message: M, markup: InlineKeyboardMarkup | undefined): M {
  if (markup === undefined) {
    const { reply_markup: _dropped, ...rest } = message;
    return rest as M;
  }
  return { ...message, reply_markup: markup };
}

/** Only inline keyboards are echoed back on messages; they are validated like the real API. */
function replyMarkup(params: Readonly<Record<string, unknown>>): InlineKeyboardMarkup | undefined {
  const markup = params.reply_markup;
  if (markup === undefined || typeof markup !== 'object' || markup === null) return undefined;
  if (!('inline_keyboard' in markup)) return undefined;
  const keyboard = markup.inline_keyboard;
  if (!Array.isArray(keyboard) || !keyboard.every(Array.isArray))
    throw badRequest("can't parse inline keyboard button: InlineKeyboardButton must be an Object");
  for (const row of keyboard as unknown[][]) {
    for (const button of row) {
      if (typeof button !== 'object' || button === null || !('text' in button) || typeof button.text !== 'string') {
        throw badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard");
      }
      if ('callback_data' in button) {
        const data = button.callback_data;
        const size = typeof data === 'string' ? Buffer.byteLength(data) : 0;
        if (size < 1 || size > MAX_CALLBACK_DATA_BYTES) throw badRequest('BUTTON_DATA_INVALID');
      }
    }
  }
  return markup as InlineKeyboardMarkup;
}

function sameMarkup(a: InlineKeyboardMarkup | undefined, b: InlineKeyboardMarkup | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function editableMessage(params: Readonly<Record<string, unknown>>, chats: ChatStore): Message {
  if (params.inline_message_id !== undefined) throw badRequest('inline messages are not supported by the fake');
  const chatId = chatIdParam(params);
  const messageId = intParam(params, 'message_id');
  const message = chats.message(chatId, messageId);
  if (message === undefined) throw badRequest('message to edit not found');
  return message;
}

function replyToMessageId(params: Readonly<Record<string, unknown>>): number | undefined {
  if (typeof params.reply_to_message_id === 'number') return params.reply_to_message_id;
  const reply = params.reply_parameters;
  if (typeof reply === 'object' && reply !== null && 'message_id' in reply && typeof reply.message_id === 'number') {
    return reply.message_id;
  }
  return undefined;
}

function optionalCaption(params: Readonly<Record<string, unknown>>): string | undefined {
  const caption = params.caption;
  if (caption === undefined) return undefined;
  if (typeof caption !== 'string') throw badRequest('caption must be a string');
  if ([...caption].length > MAX_CAPTION) throw badRequest('message caption is too long');
  return caption;
}

function chatIdParam(params: Readonly<Record<string, unknown>>): number {
  const id = params.chat_id;
  if (id === undefined || id === '') throw badRequest('chat_id is empty');
  if (typeof id !== 'number' || !Number.isInteger(id)) throw badRequest('chat not found');
  return id;
}

function intParam(params: Readonly<Record<string, unknown>>, name: string): number {
  const value = params[name];
  if (typeof value !== 'number' || !Number.isInteger(value)) throw badRequest(`${name} is empty`);
  return value;
}

function stringParam(params: Readonly<Record<string, unknown>>, name: string, allowEmpty: boolean): string {
  const value = params[name];
  if (typeof value !== 'string' || (!allowEmpty && value === '' && name !== 'url')) {
    throw badRequest(`parameter "${name}" is required`);
  }
  return value;
}

function optionalInt<K extends string>(key: K, value: unknown): Partial<Record<K, number>> {
  return typeof value === 'number' && Number.isFinite(value) ? ({ [key]: value } as Record<K, number>) : {};
}

function isCommand(entry: unknown): boolean {
  if (typeof entry !== 'object' || entry === null) return false;
  if (!('command' in entry) || !('description' in entry)) return false;
  const { command, description } = entry;
  return (
    typeof command === 'string' && /^[a-z0-9_]{1,32}$/.test(command) && typeof description === 'string' && description.length >= 1 && description.length <= 256
  );
}

function commandsKey(params: Readonly<Record<string, unknown>>): string {
  return JSON.stringify([params.scope ?? { type: 'default' }, params.language_code ?? '']);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

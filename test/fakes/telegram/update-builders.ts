import { randomBytes } from 'node:crypto';
import type { CallbackQuery, Message, MessageEntity, Update, User } from 'telegraf/types';
import type { ChatStore, FakeChat } from './chat-store.ts';
import type { FileStore } from './file-store.ts';

export const DEFAULT_USER: User = {
  id: 100_001,
  is_bot: false,
  first_name: 'Alice',
  username: 'alice',
  language_code: 'en',
};

export function makeUser(id: number, overrides: Partial<User> = {}): User {
  return { id, is_bot: false, first_name: `User${id}`, username: `user${id}`, language_code: 'en', ...overrides };
}

export function privateChat(user: User = DEFAULT_USER): FakeChat {
  return {
    id: user.id,
    type: 'private',
    first_name: user.first_name,
    ...(user.username !== undefined ? { username: user.username } : {}),
  };
}

/** Negative ids are groups; ids below -10^12 are supergroups, as on real Telegram. */
export function groupChat(id = -1_001_234_567_890, title = 'Test group'): FakeChat {
  return id < -1_000_000_000_000 ? { id, type: 'supergroup', title } : { id, type: 'group', title };
}

export interface MessageOptions {
  readonly from?: User;
  /** Defaults to the private chat with `from`. */
  readonly chat?: FakeChat;
  readonly replyTo?: Message;
  /** Unix seconds. */
  readonly date?: number;
}

export interface VoiceOptions extends MessageOptions {
  /** Bytes to register as the file; or pass an existing fileId from addFile(). */
  readonly bytes?: Uint8Array;
  readonly fileId?: string;
  readonly duration?: number;
  readonly caption?: string;
  readonly mimeType?: string;
  /** Reported file_size, e.g. to simulate a 25 MB voice note cheaply. */
  readonly fileSize?: number;
}

export interface AudioOptions extends VoiceOptions {
  readonly fileName?: string;
  readonly title?: string;
  readonly performer?: string;
}

export interface CallbackOptions {
  readonly from?: User;
  /** The bot message carrying the keyboard; defaults to the newest bot message in `chat` with this data. */
  readonly message?: Message;
  readonly chat?: FakeChat;
}

/** Builds realistic updates; update ids and message ids come from the fake's counters. */
export class UpdateBuilders {
  readonly #chats: ChatStore;
  readonly #files: FileStore;
  readonly #botId: number;
  #updateId = 10_000;

  constructor(chats: ChatStore, files: FileStore, botId: number) {
    this.#chats = chats;
    this.#files = files;
    this.#botId = botId;
  }

  nextUpdateId(): number {
    this.#updateId += 1;
    return this.#updateId;
  }

  text(text: string, options: MessageOptions = {}): Update.MessageUpdate<Message.TextMessage> {
    return this.#messageUpdate({ ...this.#base(options), text });
  }

  /** `/start`, `start`, or `/start@bot`, optional arguments after a space. */
  command(command: string, args = '', options: MessageOptions = {}): Update.MessageUpdate<Message.TextMessage> {
    const head = command.startsWith('/') ? command : `/${command}`;
    const text = args === '' ? head : `${head} ${args}`;
    const entities: MessageEntity[] = [{ type: 'bot_command', offset: 0, length: head.length }];
    return this.#messageUpdate({ ...this.#base(options), text, entities });
  }

  voice(options: VoiceOptions = {}): Update.MessageUpdate<Message.VoiceMessage> {
    const mimeType = options.mimeType ?? 'audio/ogg';
    const file = this.#resolveFile(options, 'voice', 'oga', mimeType);
    const message: Message.VoiceMessage = {
      ...this.#base(options),
      voice: {
        file_id: file.fileId,
        file_unique_id: file.fileUniqueId,
        duration: options.duration ?? 3,
        mime_type: mimeType,
        file_size: file.size,
      },
      ...(options.caption !== undefined ? { caption: options.caption } : {}),
    };
    return this.#messageUpdate(message);
  }

  audio(options: AudioOptions = {}): Update.MessageUpdate<Message.AudioMessage> {
    const mimeType = options.mimeType ?? 'audio/mpeg';
    const file = this.#resolveFile(options, 'music', 'mp3', mimeType);
    const message: Message.AudioMessage = {
      ...this.#base(options),
      audio: {
        file_id: file.fileId,
        file_unique_id: file.fileUniqueId,
        duration: options.duration ?? 30,
        mime_type: mimeType,
        file_size: file.size,
        file_name: options.fileName ?? 'recording.mp3',
        ...(options.title !== undefined ? { title: options.title } : {}),
        ...(options.performer !== undefined ? { performer: options.performer } : {}),
      },
      ...(options.caption !== undefined ? { caption: options.caption } : {}),
    };
    return this.#messageUpdate(message);
  }

  callbackQuery(data: string, options: CallbackOptions = {}): Update.CallbackQueryUpdate<CallbackQuery.DataQuery> {
    const from = options.from ?? DEFAULT_USER;
    const chat = options.message?.chat ?? options.chat ?? privateChat(from);
    const message = options.message ?? this.#messageWithButton(chat.id, data);
    const query: CallbackQuery.DataQuery = {
      id: randomBytes(8).readBigUInt64BE().toString(),
      from,
      chat_instance: `-${Math.abs(chat.id) * 7 + 13}`,
      data,
      ...(message !== undefined ? { message } : {}),
    };
    return { update_id: this.nextUpdateId(), callback_query: query };
  }

  #base(options: MessageOptions): Message.CommonMessage & { from: User; chat: FakeChat } {
    const from = options.from ?? DEFAULT_USER;
    const chat = options.chat ?? privateChat(from);
    const base: Message.CommonMessage & { from: User; chat: FakeChat } = {
      message_id: this.#chats.nextMessageId(chat.id),
      from,
      chat,
      date: options.date ?? Math.floor(Date.now() / 1000),
    };
    if (options.replyTo !== undefined) {
      // The API nests the replied-to message once, without its own reply_to_message.
      const { reply_to_message: _nested, ...replied } = options.replyTo as Message.CommonMessage;
      base.reply_to_message = replied as NonNullable<Message.CommonMessage['reply_to_message']>;
    }
    return base;
  }

  #messageUpdate<M extends Message>(message: M): Update.MessageUpdate<M> {
    // Builders only produce non-channel, non-edited messages, which is what MessageUpdate demands.
    return { update_id: this.nextUpdateId(), message } as Update.MessageUpdate<M>;
  }

  #resolveFile(options: VoiceOptions, kind: 'voice' | 'music', extension: string, mimeType: string) {
    if (options.fileId !== undefined) {
      const known = this.#files.get(options.fileId);
      if (known === undefined) throw new Error(`unknown fileId ${options.fileId}; register it with addFile()`);
      return known;
    }
    const bytes = options.bytes ?? Buffer.from('OggS fake voice');
    return this.#files.add(bytes, {
      kind,
      extension,
      mimeType,
      ...(options.fileSize !== undefined ? { size: options.fileSize } : {}),
    });
  }

  #messageWithButton(chatId: number, data: string): Message | undefined {
    const botMessages = this.#chats.messages(chatId, this.#botId).reverse();
    return botMessages.find(
      (m) =>
        'reply_markup' in m && m.reply_markup?.inline_keyboard.some((row) => row.some((button) => 'callback_data' in button && button.callback_data === data)),
    );
  }
}

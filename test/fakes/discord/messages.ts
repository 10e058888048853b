// Messages and attachments known to the fake: ones the bot posted and ones a test injected.
import { nextSnowflake } from './ids.ts';
import type { FakeUser, GuildState, Json } from './guild-state.ts';

export interface StoredAttachment {
  readonly id: string;
  readonly filename: string;
  readonly contentType: string;
  readonly data: Buffer;
  readonly url: string;
  /** Discord sets this for voice messages (flag IS_VOICE_MESSAGE). */
  readonly durationSecs?: number;
  readonly waveform?: string;
}

/** One file part of a multipart request the bot sent. */
export interface UploadedFile {
  readonly field: string;
  readonly filename: string;
  readonly contentType: string;
  readonly data: Buffer;
}

export interface StoredMessage {
  readonly id: string;
  readonly channelId: string;
  readonly author: FakeUser;
  /** The latest JSON body (payload_json for multipart) the bot sent for this message; for injected ones, what the test gave. */
  body: Json;
  files: UploadedFile[];
  attachments: StoredAttachment[];
  readonly timestamp: string;
  editedTimestamp: string | null;
  readonly webhookId?: string;
  readonly interactionId?: string;
}

export const MessageFlags = { Ephemeral: 64, IsVoiceMessage: 8192 } as const;

export class MessageStore {
  readonly messages = new Map<string, StoredMessage>();
  readonly attachments = new Map<string, StoredAttachment>();
  readonly #cdnBase: () => string;

  /** cdnBase is read lazily because the server's port is known only after listen(). */
  constructor(cdnBase: () => string) {
    this.#cdnBase = cdnBase;
  }

  addAttachment(filename: string, data: Buffer, contentType: string, extra?: { durationSecs?: number; waveform?: string }): StoredAttachment {
    const id = nextSnowflake();
    const attachment: StoredAttachment = {
      id,
      filename,
      contentType,
      data,
      url: `${this.#cdnBase()}/attachments/${id}/${encodeURIComponent(filename)}`,
      ...extra,
    };
    this.attachments.set(id, attachment);
    return attachment;
  }

  create(channelId: string, author: FakeUser, body: Json, files: UploadedFile[] = [], extra?: { webhookId?: string; interactionId?: string }): StoredMessage {
    const message: StoredMessage = {
      id: nextSnowflake(),
      channelId,
      author,
      body,
      files,
      attachments: files.map((f) => this.addAttachment(f.filename, f.data, f.contentType)),
      timestamp: new Date().toISOString(),
      editedTimestamp: null,
      ...extra,
    };
    this.messages.set(message.id, message);
    return message;
  }

  edit(message: StoredMessage, body: Json, files: UploadedFile[]): StoredMessage {
    message.body = { ...message.body, ...body };
    if (files.length > 0) {
      message.files = files;
      message.attachments = files.map((f) => this.addAttachment(f.filename, f.data, f.contentType));
    }
    message.editedTimestamp = new Date().toISOString();
    return message;
  }

  attachmentJson(attachment: StoredAttachment): Json {
    return {
      id: attachment.id,
      filename: attachment.filename,
      size: attachment.data.length,
      url: attachment.url,
      proxy_url: attachment.url,
      content_type: attachment.contentType,
      ...(attachment.durationSecs !== undefined ? { duration_secs: attachment.durationSecs } : {}),
      ...(attachment.waveform !== undefined ? { waveform: attachment.waveform } : {}),
    };
  }

  messageJson(message: StoredMessage, guild: GuildState): Json {
    const body = message.body;
    const inGuild = guild.channels.get(message.channelId)?.type !== 1;
    return {
      id: message.id,
      channel_id: message.channelId,
      ...(inGuild ? { guild_id: guild.id } : {}),
      author: guild.userJson(message.author),
      content: typeof body['content'] === 'string' ? body['content'] : '',
      timestamp: message.timestamp,
      edited_timestamp: message.editedTimestamp,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: message.attachments.map((a) => this.attachmentJson(a)),
      embeds: Array.isArray(body['embeds']) ? body['embeds'] : [],
      components: Array.isArray(body['components']) ? body['components'] : [],
      pinned: false,
      type: 0,
      flags: typeof body['flags'] === 'number' ? body['flags'] : 0,
      ...(message.webhookId ? { webhook_id: message.webhookId } : {}),
    };
  }
}

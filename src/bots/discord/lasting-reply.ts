import {
  DiscordAPIError,
  MessageFlags,
  type ActionRowBuilder,
  type ButtonBuilder,
  type EmbedBuilder,
  type Message,
  type RepliableInteraction,
} from 'discord.js';
import { t, type Locale } from '../../i18n/catalogue.ts';
import type { Logger } from '../../observability/logger.ts';
import { mention } from './messages.ts';

export interface ReplyPayload {
  readonly content: string;
  readonly embeds?: readonly EmbedBuilder[];
  readonly components?: readonly ActionRowBuilder<ButtonBuilder>[];
}

/**
 * Where a conversation with one member continues after their interaction's token expired.
 *   interaction ──token expired──▶ dm ──(DMs closed)──▶ channel
 */
type Place = { readonly status: 'interaction' } | { readonly status: 'dm' | 'channel'; readonly message: Message };

/** Discord's answers to a webhook call with a token that no longer works. */
const EXPIRED_TOKEN_CODES = new Set([50027 /* Invalid Webhook Token */, 10015 /* Unknown Webhook */]);

export function isExpiredToken(error: unknown): boolean {
  return error instanceof DiscordAPIError && (EXPIRED_TOKEN_CODES.has(Number(error.code)) || error.status === 401);
}

/**
 * One member's /clone message, kept alive past the interaction. Discord lets a bot edit
 * its interaction reply and send follow-ups for 15 minutes; a fine-tune can take longer.
 * While the token works, edits go to the (ephemeral) interaction reply. When Discord says
 * the token expired, the conversation moves to one message in the member's DMs — or, if
 * their DMs are closed, to one message in the channel of the command that mentions only
 * them — and later edits edit that message (a bot's own messages can be edited for ever).
 */
export class LastingReply {
  readonly #interaction: RepliableInteraction<'cached'>;
  readonly #locale: Locale;
  readonly #logger: Logger;
  #place: Place = { status: 'interaction' };
  /** Edits in order: a move must finish before the next edit looks for the message. */
  #chain: Promise<void> = Promise.resolve();

  constructor(interaction: RepliableInteraction<'cached'>, locale: Locale, logger: Logger) {
    this.#interaction = interaction;
    this.#locale = locale;
    this.#logger = logger;
  }

  get place(): Place['status'] {
    return this.#place.status;
  }

  /** Shows `payload` as the current state of the conversation. Never throws; failures are logged. */
  edit(payload: ReplyPayload): Promise<void> {
    this.#chain = this.#chain.then(() => this.#edit(payload));
    return this.#chain;
  }

  /**
   * Tells the member something that must reach them (the fine-tune's outcome): a DM, else
   * an ephemeral follow-up while the token works, else a message in the channel.
   */
  tell(content: string): Promise<void> {
    this.#chain = this.#chain.then(() => this.#tell(content));
    return this.#chain;
  }

  async #edit(payload: ReplyPayload): Promise<void> {
    const place = this.#place;
    try {
      if (place.status === 'interaction') {
        await this.#interaction.editReply({
          content: payload.content,
          ...(payload.embeds ? { embeds: [...payload.embeds] } : {}),
          ...(payload.components ? { components: [...payload.components] } : {}),
        });
      } else {
        // Buttons stay with the interaction: in a DM or as a channel message they would be someone else's to press.
        await place.message.edit({
          content: this.#framed(place.status, payload.content),
          ...(payload.embeds ? { embeds: [...payload.embeds] } : {}),
          components: [],
          allowedMentions: this.#mentions(),
        });
      }
    } catch (error) {
      if (place.status === 'interaction' && isExpiredToken(error)) await this.#move(payload.content);
      else this.#logger.warn({ userId: this.#interaction.user.id, place: place.status, err: error }, 'could not update the /clone message');
    }
  }

  async #tell(content: string): Promise<void> {
    const place = this.#place;
    if (place.status !== 'interaction') {
      await this.#send(place.status, content).catch((error: unknown) =>
        this.#logger.warn({ userId: this.#interaction.user.id, err: error }, 'could not tell the member'),
      );
      return;
    }
    if (
      await this.#send('dm', content).then(
        () => true,
        () => false,
      )
    )
      return;
    try {
      await this.#interaction.followUp({ content, flags: MessageFlags.Ephemeral });
      return;
    } catch (error) {
      if (!isExpiredToken(error)) this.#logger.warn({ userId: this.#interaction.user.id, err: error }, 'could not follow up');
    }
    await this.#send('channel', content).catch((error: unknown) =>
      this.#logger.warn({ userId: this.#interaction.user.id, err: error }, 'could not tell the member'),
    );
  }

  /** The token expired: continue in the member's DMs, or in the channel when those are closed. */
  async #move(content: string): Promise<void> {
    for (const status of ['dm', 'channel'] as const) {
      try {
        this.#place = { status, message: await this.#send(status, content) };
        this.#logger.info({ userId: this.#interaction.user.id, place: status }, 'interaction token expired; /clone message moved');
        return;
      } catch (error) {
        this.#logger.info({ userId: this.#interaction.user.id, place: status, err: error }, 'could not move the /clone message there');
      }
    }
  }

  async #send(status: 'dm' | 'channel', content: string): Promise<Message> {
    if (status === 'dm') return this.#interaction.user.send({ content });
    const channel = this.#interaction.channel;
    if (!channel?.isSendable()) throw new Error("the command's channel cannot take messages");
    return channel.send({ content: this.#framed('channel', content), allowedMentions: this.#mentions() });
  }

  /** In the channel the message says whom it is for; in a DM it needs no introduction. */
  #framed(status: 'dm' | 'channel', content: string): string {
    return status === 'dm' ? content : `${t(this.#locale, 'discord.notify.channel_intro', { member: mention(this.#interaction.user.id) })}\n${content}`;
  }

  #mentions(): { users: string[] } {
    return { users: [this.#interaction.user.id] };
  }
}

// Builds INTERACTION_CREATE payloads and remembers each interaction, so the REST side
// can match callbacks and webhook calls (by id and token) to the interaction they answer.
import { nextSnowflake, randomToken } from './ids.ts';
import type { GuildState, Json } from './guild-state.ts';
import type { MessageStore, StoredMessage, UploadedFile } from './messages.ts';
import { WaitableLog } from './waitable-log.ts';

export const InteractionType = { Ping: 1, ApplicationCommand: 2, MessageComponent: 3, Autocomplete: 4, ModalSubmit: 5 } as const;

export const InteractionCallbackType = {
  ChannelMessageWithSource: 4,
  DeferredChannelMessageWithSource: 5,
  DeferredUpdateMessage: 6,
  UpdateMessage: 7,
  Modal: 9,
} as const;

export const OptionType = {
  Subcommand: 1,
  SubcommandGroup: 2,
  String: 3,
  Integer: 4,
  Boolean: 5,
  User: 6,
  Channel: 7,
  Role: 8,
  Mentionable: 9,
  Number: 10,
  Attachment: 11,
} as const;

export interface CommandOption {
  readonly name: string;
  readonly type: number;
  /** For User options a user id; for Attachment options an attachment id (see attachOption). */
  readonly value?: string | number | boolean;
  readonly options?: readonly CommandOption[];
}

export interface SlashCommandInput {
  readonly name: string;
  readonly userId: string;
  readonly options?: readonly CommandOption[];
  readonly channelId?: string;
  /** Defaults to the id the bot got when it registered the command, when it did. */
  readonly commandId?: string;
  readonly locale?: string;
}

export interface ButtonInput {
  readonly customId: string;
  readonly userId: string;
  /** The message carrying the button; defaults to the latest message the bot posted in the channel. */
  readonly messageId?: string;
  readonly channelId?: string;
  /** 2 = button, 3 = string select. */
  readonly componentType?: number;
  readonly values?: readonly string[];
}

export interface ModalSubmitInput {
  readonly customId: string;
  readonly userId: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly channelId?: string;
}

export interface FakeInteraction {
  readonly id: string;
  readonly token: string;
  readonly type: number;
  readonly userId: string;
  readonly channelId: string;
  /** The guild it happened in. */
  readonly guildId: string;
  /** Date.now() when the interaction was created: the response deadline and the token's life count from here. */
  readonly createdAt: number;
  /** The message the interaction's original response became, once there is one. */
  originalMessage?: StoredMessage;
  /** For components: the message the component sits on. */
  readonly sourceMessage?: StoredMessage;
}

/**
 * Discord's clocks on an interaction: the initial response (reply, defer, update) must
 * arrive within 3 s or the interaction is gone (10062 Unknown interaction); the token
 * then works for follow-ups and edits for 15 minutes (after that 50027 Invalid Webhook
 * Token). Tests shorten the token's life so they need not wait 15 minutes.
 */
export interface InteractionDeadlines {
  readonly responseMs: number;
  readonly tokenLifetimeMs: number;
}

export const DISCORD_DEADLINES: InteractionDeadlines = { responseMs: 3_000, tokenLifetimeMs: 15 * 60_000 };

/** One POST /interactions/:id/:token/callback the bot made. */
export interface InteractionResponseRecord {
  readonly interactionId: string;
  readonly type: number;
  readonly data: Json | undefined;
  readonly files: readonly UploadedFile[];
  readonly at: number;
}

/** One call on the interaction's webhook (edit original, follow-up, ...). */
export interface WebhookCallRecord {
  readonly interactionId: string;
  readonly kind: 'editOriginal' | 'deleteOriginal' | 'followUp' | 'editFollowUp';
  readonly body: Json | undefined;
  readonly files: readonly UploadedFile[];
  readonly messageId: string;
  readonly at: number;
}

export class InteractionRegistry {
  readonly byId = new Map<string, FakeInteraction>();
  readonly byToken = new Map<string, FakeInteraction>();
  readonly responses = new WaitableLog<InteractionResponseRecord>('an interaction response');
  readonly webhookCalls = new WaitableLog<WebhookCallRecord>('an interaction webhook call');
  /** The guild interactions happen in unless a call names another (the fake's first guild). */
  readonly #guild: GuildState;
  /** The guild of each registered interaction, for its envelope. */
  readonly #guildOf = new Map<string, GuildState>();
  readonly #messages: MessageStore;
  readonly #applicationId: string;
  readonly #commandIds: (name: string, guildId: string) => string | undefined;
  readonly deadlines: InteractionDeadlines;

  constructor(
    guild: GuildState,
    messages: MessageStore,
    applicationId: string,
    commandIds: (name: string, guildId: string) => string | undefined,
    deadlines: InteractionDeadlines = DISCORD_DEADLINES,
  ) {
    this.#guild = guild;
    this.#messages = messages;
    this.#applicationId = applicationId;
    this.#commandIds = commandIds;
    this.deadlines = deadlines;
  }

  /** Whether the initial response may still be sent. */
  canRespond(interaction: FakeInteraction, now = Date.now()): boolean {
    return now - interaction.createdAt <= this.deadlines.responseMs;
  }

  /** Whether follow-ups and edits through the interaction's webhook still work. */
  tokenValid(interaction: FakeInteraction, now = Date.now()): boolean {
    return now - interaction.createdAt <= this.deadlines.tokenLifetimeMs;
  }

  #register(guild: GuildState, type: number, userId: string, channelId: string, sourceMessage?: StoredMessage): FakeInteraction {
    guild.requireMember(userId);
    const interaction: FakeInteraction = {
      id: nextSnowflake(),
      token: randomToken('interaction'),
      type,
      userId,
      channelId,
      guildId: guild.id,
      createdAt: Date.now(),
      ...(sourceMessage ? { sourceMessage } : {}),
    };
    this.#guildOf.set(interaction.id, guild);
    this.byId.set(interaction.id, interaction);
    this.byToken.set(interaction.token, interaction);
    return interaction;
  }

  #envelope(interaction: FakeInteraction, locale = 'en-US'): Json {
    const guild = this.#guildOf.get(interaction.id) ?? this.#guild;
    const channel = guild.channels.get(interaction.channelId);
    const user = guild.requireMember(interaction.userId);
    return {
      id: interaction.id,
      application_id: this.#applicationId,
      type: interaction.type,
      guild_id: guild.id,
      guild: { id: guild.id, locale: 'en-US', features: [] },
      channel_id: interaction.channelId,
      ...(channel ? { channel: guild.channelJson(channel) } : {}),
      member: guild.interactionMemberJson(user),
      token: interaction.token,
      version: 1,
      app_permissions: ((1n << 50n) - 1n).toString(),
      locale,
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': guild.id },
      context: 0,
      attachment_size_limit: 10 * 1024 * 1024,
    };
  }

  /** Collects `resolved` entries for user and attachment options, as Discord does. */
  #resolved(guild: GuildState, options: readonly CommandOption[] | undefined): Json | undefined {
    const users: Json = {};
    const members: Json = {};
    const attachments: Json = {};
    const visit = (list: readonly CommandOption[]): void => {
      for (const option of list) {
        if (option.type === OptionType.User && typeof option.value === 'string') {
          const user = guild.requireMember(option.value);
          users[user.id] = guild.userJson(user);
          const { user: _omit, ...member } = guild.interactionMemberJson(user);
          members[user.id] = member;
        } else if (option.type === OptionType.Attachment && typeof option.value === 'string') {
          const attachment = this.#messages.attachments.get(option.value);
          if (!attachment) throw new Error(`fake discord: unknown attachment ${option.value}`);
          attachments[attachment.id] = this.#messages.attachmentJson(attachment);
        }
        if (option.options) visit(option.options);
      }
    };
    visit(options ?? []);
    const resolved: Json = {};
    if (Object.keys(users).length > 0) Object.assign(resolved, { users, members });
    if (Object.keys(attachments).length > 0) resolved['attachments'] = attachments;
    return Object.keys(resolved).length > 0 ? resolved : undefined;
  }

  slashCommand(input: SlashCommandInput, guild: GuildState = this.#guild): { interaction: FakeInteraction; payload: Json } {
    const interaction = this.#register(guild, InteractionType.ApplicationCommand, input.userId, input.channelId ?? guild.textChannel.id);
    const resolved = this.#resolved(guild, input.options);
    const data: Json = {
      id: input.commandId ?? this.#commandIds(input.name, guild.id) ?? nextSnowflake(),
      name: input.name,
      type: 1,
      guild_id: guild.id,
      ...(input.options ? { options: input.options } : {}),
      ...(resolved ? { resolved } : {}),
    };
    return { interaction, payload: { ...this.#envelope(interaction, input.locale), data } };
  }

  component(input: ButtonInput, guild: GuildState = this.#guild): { interaction: FakeInteraction; payload: Json } {
    const channelId = input.channelId ?? guild.textChannel.id;
    const source =
      input.messageId !== undefined
        ? this.#messages.messages.get(input.messageId)
        : [...this.#messages.messages.values()].reverse().find((m) => m.channelId === channelId && m.author.id === guild.bot.id);
    if (!source) throw new Error('fake discord: a component interaction needs a message from the bot to sit on');
    const interaction = this.#register(guild, InteractionType.MessageComponent, input.userId, source.channelId, source);
    const data: Json = {
      custom_id: input.customId,
      component_type: input.componentType ?? 2,
      ...(input.values ? { values: input.values } : {}),
    };
    return {
      interaction,
      payload: { ...this.#envelope(interaction), message: this.#messages.messageJson(source, guild), data },
    };
  }

  modalSubmit(input: ModalSubmitInput, guild: GuildState = this.#guild): { interaction: FakeInteraction; payload: Json } {
    const interaction = this.#register(guild, InteractionType.ModalSubmit, input.userId, input.channelId ?? guild.textChannel.id);
    const components = Object.entries(input.fields).map(([customId, value]) => ({
      type: 1,
      components: [{ type: 4, custom_id: customId, value }],
    }));
    return { interaction, payload: { ...this.#envelope(interaction), data: { custom_id: input.customId, components } } };
  }
}

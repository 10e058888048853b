// One guild of the fake: who exists, which channels, who sits in which voice channel.
// Also renders each piece as the JSON Discord puts on the wire.
import { nextSnowflake } from './ids.ts';

export type Json = Record<string, unknown>;

export interface FakeUser {
  readonly id: string;
  readonly username: string;
  readonly bot: boolean;
}

export interface FakeVoiceState {
  readonly userId: string;
  channelId: string | null;
  sessionId: string;
  selfMute: boolean;
  selfDeaf: boolean;
}

export const ChannelType = { GuildText: 0, DM: 1, GuildVoice: 2 } as const;

export interface FakeChannel {
  readonly id: string;
  readonly type: number;
  readonly name: string;
  /** Set only for DM channels. */
  readonly recipientId?: string;
}

/** Every permission bit: the fake never denies anything. */
const ALL_PERMISSIONS = ((1n << 50n) - 1n).toString();

export class GuildState {
  readonly id: string;
  readonly name: string;
  readonly owner: FakeUser;
  readonly bot: FakeUser;
  readonly textChannel: FakeChannel;
  readonly voiceChannel: FakeChannel;
  readonly channels = new Map<string, FakeChannel>();
  readonly members = new Map<string, FakeUser>();
  readonly voiceStates = new Map<string, FakeVoiceState>();
  /** Members who do not accept direct messages from server members (bots included). */
  readonly closedDms = new Set<string>();
  readonly joinedAt = new Date().toISOString();

  constructor(bot: FakeUser, guildName = 'Vocalis Test Guild', id = nextSnowflake()) {
    this.id = id;
    this.name = guildName;
    this.bot = bot;
    this.owner = { id: nextSnowflake(), username: 'guild-owner', bot: false };
    this.textChannel = this.addChannel(ChannelType.GuildText, 'general');
    this.voiceChannel = this.addChannel(ChannelType.GuildVoice, 'Voice');
    this.members.set(bot.id, bot);
    this.members.set(this.owner.id, this.owner);
  }

  addChannel(type: number, name: string): FakeChannel {
    const channel: FakeChannel = { id: nextSnowflake(), type, name };
    this.channels.set(channel.id, channel);
    return channel;
  }

  addMember(username: string, id = nextSnowflake()): FakeUser {
    const user: FakeUser = { id, username, bot: false };
    this.members.set(id, user);
    return user;
  }

  requireMember(userId: string): FakeUser {
    const member = this.members.get(userId);
    if (!member) throw new Error(`fake discord: unknown member ${userId}`);
    return member;
  }

  /** Moves a member into a voice channel (or out, with null) and returns the new state. */
  setVoiceChannel(userId: string, channelId: string | null, sessionId?: string, flags?: { selfMute?: boolean; selfDeaf?: boolean }): FakeVoiceState {
    const previous = this.voiceStates.get(userId);
    const state: FakeVoiceState = {
      userId,
      channelId,
      sessionId: sessionId ?? previous?.sessionId ?? crypto.randomUUID().replaceAll('-', ''),
      selfMute: flags?.selfMute ?? previous?.selfMute ?? false,
      selfDeaf: flags?.selfDeaf ?? previous?.selfDeaf ?? false,
    };
    if (channelId === null) this.voiceStates.delete(userId);
    else this.voiceStates.set(userId, state);
    return state;
  }

  /** User ids currently in the given voice channel. */
  usersInVoice(channelId: string): string[] {
    return [...this.voiceStates.values()].filter((s) => s.channelId === channelId).map((s) => s.userId);
  }

  userJson(user: FakeUser): Json {
    return {
      id: user.id,
      username: user.username,
      global_name: user.username,
      discriminator: '0',
      avatar: null,
      bot: user.bot,
      public_flags: 0,
    };
  }

  memberJson(user: FakeUser): Json {
    return {
      user: this.userJson(user),
      nick: null,
      roles: [],
      joined_at: this.joinedAt,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      avatar: null,
      premium_since: null,
      communication_disabled_until: null,
    };
  }

  /** The member object embedded in interactions, which carries resolved permissions. */
  interactionMemberJson(user: FakeUser): Json {
    return { ...this.memberJson(user), permissions: ALL_PERMISSIONS };
  }

  channelJson(channel: FakeChannel): Json {
    if (channel.type === ChannelType.DM) {
      const recipient = channel.recipientId ? this.members.get(channel.recipientId) : undefined;
      return { id: channel.id, type: channel.type, last_message_id: null, recipients: recipient ? [this.userJson(recipient)] : [] };
    }
    const base: Json = {
      id: channel.id,
      type: channel.type,
      guild_id: this.id,
      name: channel.name,
      position: channel.type === ChannelType.GuildVoice ? 1 : 0,
      permission_overwrites: [],
      parent_id: null,
      nsfw: false,
    };
    if (channel.type === ChannelType.GuildVoice) {
      return { ...base, bitrate: 64000, user_limit: 0, rtc_region: null, video_quality_mode: 1 };
    }
    return { ...base, topic: null, last_message_id: null, rate_limit_per_user: 0 };
  }

  voiceStateJson(state: FakeVoiceState, withGuild: boolean): Json {
    const user = this.members.get(state.userId);
    return {
      ...(withGuild ? { guild_id: this.id } : {}),
      channel_id: state.channelId,
      user_id: state.userId,
      ...(withGuild && user ? { member: this.memberJson(user) } : {}),
      session_id: state.sessionId,
      deaf: false,
      mute: false,
      self_deaf: state.selfDeaf,
      self_mute: state.selfMute,
      self_video: false,
      suppress: false,
      request_to_speak_timestamp: null,
    };
  }

  guildCreateJson(): Json {
    return {
      id: this.id,
      name: this.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: this.owner.id,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [
        {
          id: this.id,
          name: '@everyone',
          color: 0,
          hoist: false,
          icon: null,
          unicode_emoji: null,
          position: 0,
          permissions: ALL_PERMISSIONS,
          managed: false,
          mentionable: false,
          flags: 0,
        },
      ],
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: this.textChannel.id,
      system_channel_flags: 0,
      rules_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US',
      public_updates_channel_id: null,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      joined_at: this.joinedAt,
      large: false,
      unavailable: false,
      member_count: this.members.size,
      members: [...this.members.values()].map((user) => this.memberJson(user)),
      channels: [...this.channels.values()].filter((c) => c.type !== ChannelType.DM).map((c) => this.channelJson(c)),
      threads: [],
      presences: [],
      voice_states: [...this.voiceStates.values()].map((s) => this.voiceStateJson(s, false)),
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }
}

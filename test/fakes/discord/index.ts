// A hermetic Discord for end-to-end tests: fake REST + CDN and gateway on one HTTP server,
// and a fake voice server (wss + UDP), wired together around one guild (more with addGuild;
// the gateway routes each guild's events to its shard, as Discord does).
//
//   const discord = await startFakeDiscord();
//   const client = new Client({ intents: [...], rest: { api: discord.restUrl } });
//   await client.login(discord.token);
//   const user = discord.addMember('alice', { inVoice: true });
//   const interaction = discord.dispatchInteraction({ kind: 'slash', name: 'consent', userId: user.id });
//   const reply = await discord.waitForInteractionResponse(interaction.id);
//   ...
//   await discord.close();
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CommandRegistry } from './commands.ts';
import { FakeGateway, guildOnShard, type ShardPair } from './gateway-server.ts';
import { ChannelType, GuildState, type FakeChannel, type FakeUser, type Json } from './guild-state.ts';
import { nextSnowflake, randomToken, snowflakeOnShard } from './ids.ts';
import {
  DISCORD_DEADLINES,
  InteractionRegistry,
  type ButtonInput,
  type InteractionDeadlines,
  type FakeInteraction,
  type InteractionResponseRecord,
  type ModalSubmitInput,
  type SlashCommandInput,
  type WebhookCallRecord,
} from './interactions.ts';
import { MessageStore, type StoredAttachment, type StoredMessage } from './messages.ts';
import { FakeRest } from './rest-server.ts';
import { WaitableLog } from './waitable-log.ts';
import { analyzeFrames, type FrameStats, type RecordedFrame } from './voice/frame-analysis.ts';
import { trustCertificate } from '../../support/tls-cert.ts';
import { VoiceCloseCode } from './voice/voice-opcodes.ts';
import { FakeVoiceServer, type SendAudioOptions, type SendAudioResult, type VoiceSession } from './voice/voice-server.ts';
import type { DaveCallSession } from './voice/dave-session.ts';

export { DISCORD_DEADLINES, InteractionCallbackType, InteractionType, OptionType } from './interactions.ts';
export type {
  ButtonInput,
  CommandOption,
  FakeInteraction,
  InteractionDeadlines,
  InteractionResponseRecord,
  ModalSubmitInput,
  SlashCommandInput,
  WebhookCallRecord,
} from './interactions.ts';
export type { FakeUser, FakeChannel, Json } from './guild-state.ts';
export { guildOnShard } from './gateway-server.ts';
export type { GatewaySessionInfo, ShardPair } from './gateway-server.ts';
export { shardOfGuild } from './ids.ts';
export type { StoredAttachment, StoredMessage, UploadedFile } from './messages.ts';
export { MessageFlags } from './messages.ts';
export type { RestRequestRecord } from './rest-server.ts';
export { analyzeFrames, isSilenceFrame, splitUtterances } from './voice/frame-analysis.ts';
export type { FrameStats, RecordedFrame } from './voice/frame-analysis.ts';
export { VoiceCloseCode } from './voice/voice-opcodes.ts';
export type { SendAudioOptions, SendAudioResult, VoiceSession } from './voice/voice-server.ts';
export type { DaveCallSession, DaveEvent } from './voice/dave-session.ts';
export type { DaveMember } from './voice/dave-member.ts';

export interface FakeDiscordOptions {
  readonly token?: string;
  readonly botUsername?: string;
  /** Gateway HELLO heartbeat interval; Discord uses 41250 ms. */
  readonly heartbeatIntervalMs?: number;
  /**
   * Add the voice server's self-signed certificate to this process's default CA list while the
   * fake runs (default true). @discordjs/voice dials wss:// with no TLS options, so this is what
   * lets it connect, without disabling certificate checks.
   */
  readonly trustVoiceCertificate?: boolean;
  /**
   * The 3 s initial-response deadline and the 15-minute token life (DISCORD_DEADLINES);
   * shorten `tokenLifetimeMs` so a test sees an expired token without waiting 15 minutes.
   */
  readonly interactionDeadlines?: Partial<InteractionDeadlines>;
  /**
   * DAVE end-to-end encryption on voice (default true, as Discord requires since March 2026):
   * the members in the call are simulated DAVE clients. false: transport encryption only.
   */
  readonly dave?: boolean;
  /** The shard count GET /gateway/bot recommends (default 1), what `totalShards: 'auto'` uses. */
  readonly recommendedShards?: number;
  /**
   * GET /gateway/bot's `session_start_limit.max_concurrency` (default 1): how many shards may
   * identify at once (Discord's larger bots get 16); a sharding manager spaces the rest 5 s apart.
   */
  readonly maxConcurrency?: number;
}

export type InteractionInput =
  | ({ readonly kind: 'slash' } & SlashCommandInput)
  | ({ readonly kind: 'button' } & ButtonInput)
  | ({ readonly kind: 'modal' } & ModalSubmitInput);

export interface IncomingMessageInput {
  readonly authorId: string;
  readonly content?: string;
  /** Defaults to the guild text channel; pass a DM channel id (openDm) for direct messages. */
  readonly channelId?: string;
  readonly attachments?: ReadonlyArray<{
    readonly filename: string;
    readonly data: Buffer;
    readonly contentType: string;
    readonly durationSecs?: number;
    readonly waveform?: string;
  }>;
  /** e.g. MessageFlags.IsVoiceMessage */
  readonly flags?: number;
}

export interface FakeVoice {
  readonly server: FakeVoiceServer;
  /** Opus frames the bot sent (decrypted), in arrival order. */
  frames(): RecordedFrame[];
  /** Resolves when at least `count` frames (matching the filter, if given) have arrived. */
  waitForFrames(count: number, options?: { timeoutMs?: number; filter?: (frame: RecordedFrame) => boolean }): Promise<RecordedFrame[]>;
  analyze(frames?: readonly RecordedFrame[]): FrameStats;
  /** A member speaks: their Opus frames are sent to the bot, paced at 20 ms. */
  sendAudio(userId: string, frames: readonly Buffer[], options?: SendAudioOptions): Promise<SendAudioResult>;
  /**
   * Drops the bot's voice connection. 4014 (default) is a kick: the gateway also tells the bot it
   * left the channel. 4015 makes the client RESUME; other codes make it rejoin via the gateway.
   */
  disconnectBot(code?: number): void;
  /**
   * While on, the bot's voice joins (op 4 with a channel) get their VOICE_STATE_UPDATE but
   * no VOICE_SERVER_UPDATE, as when the voice region does not answer: the join never
   * becomes ready.
   */
  stallJoins(on: boolean): void;
  /**
   * While set, the voice server closes every IDENTIFY with this code (null: accept again):
   * 4014 is final for the client, 4017 is what Discord answers clients without DAVE.
   */
  refuseJoins(code: number | null): void;
  activeSession(): VoiceSession | undefined;
  waitForSession(timeoutMs?: number): Promise<VoiceSession>;
  /**
   * The DAVE group of the bot's call (see dave-session.ts): its members' clients, the epoch,
   * its events, and the hooks that force transitions or reproduce the library's failures.
   * Undefined when the bot is in no call or DAVE is off.
   */
  dave(): DaveCallSession | undefined;
  /** Resolves once the bot's call has a DAVE group with no change under way (and `userId` in it). */
  waitForDave(userId?: string, timeoutMs?: number): Promise<DaveCallSession>;
}

/** One guild of the fake and the helpers that act in it. */
export interface FakeGuild {
  readonly id: string;
  readonly textChannelId: string;
  readonly voiceChannelId: string;
  readonly ownerId: string;
  readonly state: GuildState;
  readonly voice: FakeVoice;
  /** Adds a member (pass the id of a user of another guild to make them a member of both). */
  addMember(username: string, options?: { inVoice?: boolean; id?: string }): FakeUser;
  setMemberVoiceChannel(userId: string, channelId: string | null): void;
  /** Slash commands, buttons and modals in this guild. */
  dispatchInteraction(input: InteractionInput): FakeInteraction;
  /** A member's message in this guild's text channel (or the DM channel given). */
  dispatchMessage(input: IncomingMessageInput): StoredMessage;
  botVoiceChannelId(): string | null;
}

export interface FakeDiscord {
  /** For `new Client({ rest: { api: restUrl } })`. */
  readonly restUrl: string;
  /** Base URL attachments are served from. */
  readonly cdnUrl: string;
  readonly token: string;
  readonly applicationId: string;
  readonly botUserId: string;
  readonly guild: { readonly id: string; readonly textChannelId: string; readonly voiceChannelId: string; readonly ownerId: string };
  /** Lower-level pieces for assertions beyond the helpers. */
  readonly state: GuildState;
  readonly rest: FakeRest;
  readonly gateway: FakeGateway;
  readonly commands: CommandRegistry;
  readonly messages: MessageStore;
  readonly interactions: InteractionRegistry;
  /** Messages the bot created or edited through channel routes (not interaction webhooks). */
  readonly botMessages: WaitableLog<StoredMessage>;
  readonly voice: FakeVoice;

  /**
   * Another guild the bot is in. `shard: [id, count]` picks an id that Discord routes to that
   * shard. A shard already identified gets its GUILD_CREATE at once, as when the bot joins a guild.
   */
  addGuild(options?: { name?: string; shard?: ShardPair }): FakeGuild;
  /** Every guild, the first one (`guild`) first. */
  guilds(): readonly FakeGuild[];
  addMember(username: string, options?: { inVoice?: boolean; id?: string }): FakeUser;
  /** Moves a member into a voice channel (default: the guild's voice channel), or out with null. */
  setMemberVoiceChannel(userId: string, channelId: string | null): void;
  dispatchInteraction(input: InteractionInput): FakeInteraction;
  waitForInteractionResponse(interactionId: string, timeoutMs?: number): Promise<InteractionResponseRecord>;
  waitForWebhookCall(interactionId: string, kind?: WebhookCallRecord['kind'], timeoutMs?: number): Promise<WebhookCallRecord>;
  /** Posts a message from a member (MESSAGE_CREATE), attachments served by the fake CDN. */
  dispatchMessage(input: IncomingMessageInput): StoredMessage;
  /** A DM channel between the bot and a member (as POST /users/@me/channels would create). */
  openDm(userId: string): FakeChannel;
  /** The member does not accept DMs from server members: the bot's DMs answer 403 50007. */
  closeDms(userId: string): void;
  /** Raw gateway dispatch for anything the helpers do not cover. */
  dispatch(event: string, data: unknown): void;
  /** The voice channel the bot currently sits in, per the fake's state. */
  botVoiceChannelId(): string | null;
  close(): Promise<void>;
}

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const token = options.token ?? randomToken('fake-bot-token');
  const applicationId = nextSnowflake();
  const bot: FakeUser = { id: applicationId, username: options.botUsername ?? 'vocalis-test-bot', bot: true };
  const primary = new GuildState(bot);
  const guildStates: GuildState[] = [primary];
  const guildById = (id: unknown): GuildState | undefined => guildStates.find((g) => g.id === id);
  let baseUrl = '';
  const messages = new MessageStore(() => baseUrl);
  const commands = new CommandRegistry();
  const interactions = new InteractionRegistry(primary, messages, applicationId, (name, guildId) => commands.idOf(name, guildId), {
    ...DISCORD_DEADLINES,
    ...options.interactionDeadlines,
  });
  let joinsStalled = false;
  const botMessages = new WaitableLog<StoredMessage>('a message from the bot');

  const voiceServer = await FakeVoiceServer.start(
    {
      onSessionReady: (session) => {
        const guild = guildById(session.guildId);
        const channelId = guild?.voiceStates.get(session.userId)?.channelId;
        if (guild && channelId)
          voiceServer.announceClients(
            guild.id,
            guild.usersInVoice(channelId).filter((id) => id !== session.userId),
          );
      },
    },
    { dave: options.dave ?? true },
  );
  const restoreTrust = options.trustVoiceCertificate === false ? () => {} : trustCertificate(voiceServer.certificatePem);

  const gateway: FakeGateway = new FakeGateway(
    { token, heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250 },
    {
      readyPayload: (shard) => ({
        user: { ...primary.userJson(bot), verified: true, mfa_enabled: false, flags: 0 },
        application: { id: applicationId, flags: 0 },
        guilds: guildStates.filter((g) => guildOnShard(g.id, shard)).map((g) => ({ id: g.id, unavailable: true })),
      }),
      onIdentified: (shard) => {
        for (const guild of guildStates) if (guildOnShard(guild.id, shard)) gateway.dispatch('GUILD_CREATE', guild.guildCreateJson(), guild.id);
      },
      onVoiceStateUpdate: (d) => onBotVoiceStateUpdate(d),
      membersChunk: (request) => {
        const guild = guildById(request['guild_id']);
        const ids = Array.isArray(request['user_ids']) ? request['user_ids'].map(String) : undefined;
        const query = typeof request['query'] === 'string' ? request['query'].toLowerCase() : '';
        return [...(guild?.members.values() ?? [])]
          .filter((u) => (ids ? ids.includes(u.id) : u.username.toLowerCase().startsWith(query)))
          .map((u) => guild!.memberJson(u));
      },
    },
  );

  /** Whether the shard that carries this guild has identified (events can reach the bot). */
  const shardUp = (guild: GuildState): boolean => gateway.sessionForGuild(guild.id) !== undefined;

  function onBotVoiceStateUpdate(d: Json): void {
    const guild = guildById(d['guild_id']);
    if (!guild) return;
    const channelId = typeof d['channel_id'] === 'string' ? d['channel_id'] : null;
    const sessionId = gateway.sessionForGuild(guild.id)?.sessionId ?? crypto.randomUUID();
    const state = guild.setVoiceChannel(bot.id, channelId, sessionId, {
      selfMute: d['self_mute'] === true,
      selfDeaf: d['self_deaf'] === true,
    });
    gateway.dispatch('VOICE_STATE_UPDATE', guild.voiceStateJson(state, true));
    if (channelId === null || joinsStalled) return;
    const voiceToken = voiceServer.issueToken(guild.id, bot.id, sessionId, channelId);
    gateway.dispatch('VOICE_SERVER_UPDATE', { token: voiceToken, guild_id: guild.id, endpoint: voiceServer.endpoint });
  }

  const rest = new FakeRest({
    token,
    applicationId,
    guild: primary,
    guilds: () => guildStates,
    recommendedShards: () => options.recommendedShards ?? 1,
    maxConcurrency: () => options.maxConcurrency ?? 1,
    messages,
    interactions,
    commands,
    gatewayUrl: () => gateway.url,
    onBotMessage: (message) => botMessages.push(message),
  });

  const http: Server = createServer((req, res) => void rest.handle(req, res));
  http.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').startsWith('/gateway')) gateway.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
  gateway.baseUrl = `ws://127.0.0.1:${port}`;

  const openDm = (userId: string): FakeChannel => {
    // A DM channel is kept with the first guild the member is in (as POST /users/@me/channels does).
    const guild = guildStates.find((g) => g.members.has(userId));
    if (!guild) throw new Error(`fake discord: unknown member ${userId}`);
    const existing = [...guild.channels.values()].find((c) => c.type === ChannelType.DM && c.recipientId === userId);
    if (existing) return existing;
    const channel: FakeChannel = { id: nextSnowflake(), type: ChannelType.DM, name: '', recipientId: userId };
    guild.channels.set(channel.id, channel);
    return channel;
  };

  function guildHandle(guild: GuildState): FakeGuild {
    const setMemberVoiceChannel = (userId: string, channelId: string | null): void => {
      guild.requireMember(userId);
      const previousChannel = guild.voiceStates.get(userId)?.channelId ?? null;
      const state = guild.setVoiceChannel(userId, channelId);
      if (shardUp(guild)) gateway.dispatch('VOICE_STATE_UPDATE', guild.voiceStateJson(state, true));
      const botChannel = guild.voiceStates.get(bot.id)?.channelId ?? null;
      if (botChannel === null) return;
      if (channelId === botChannel) voiceServer.announceClients(guild.id, [userId]);
      else if (previousChannel === botChannel) voiceServer.announceDisconnect(guild.id, userId);
    };

    const voice: FakeVoice = {
      server: voiceServer,
      frames: () => voiceServer.recordedFrames(guild.id),
      async waitForFrames(count, opts = {}) {
        const filter = opts.filter ?? (() => true);
        const timeoutMs = opts.timeoutMs ?? 10_000;
        const started = Date.now();
        for (;;) {
          const frames = voiceServer.recordedFrames(guild.id).filter(filter);
          if (frames.length >= count) return frames;
          if (Date.now() - started > timeoutMs) {
            throw new Error(`fake discord: got ${frames.length} of ${count} frames from the bot within ${timeoutMs} ms`);
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
      analyze: (frames) => analyzeFrames(frames ?? voiceServer.recordedFrames(guild.id)),
      sendAudio: (userId, frames, sendOptions) => {
        guild.requireMember(userId);
        return voiceServer.sendAudio(guild.id, userId, frames, sendOptions);
      },
      disconnectBot(code = VoiceCloseCode.Disconnected) {
        if (code === VoiceCloseCode.Disconnected && shardUp(guild)) {
          const state = guild.setVoiceChannel(bot.id, null);
          gateway.dispatch('VOICE_STATE_UPDATE', guild.voiceStateJson(state, true));
        }
        voiceServer.disconnect(guild.id, code);
      },
      stallJoins(on) {
        joinsStalled = on;
      },
      refuseJoins(code) {
        voiceServer.refuseIdentifyWith = code;
      },
      activeSession: () => voiceServer.activeSession(guild.id),
      waitForSession: (timeoutMs) => voiceServer.waitForActiveSession(guild.id, timeoutMs),
      dave: () => voiceServer.daveSession(guild.id),
      async waitForDave(userId, timeoutMs = 10_000) {
        const session = await voiceServer.waitForActiveSession(guild.id, timeoutMs);
        if (!session.dave) throw new Error('fake discord: DAVE is not on in this call');
        await session.dave.settled(userId, timeoutMs);
        return session.dave;
      },
    };

    return {
      id: guild.id,
      textChannelId: guild.textChannel.id,
      voiceChannelId: guild.voiceChannel.id,
      ownerId: guild.owner.id,
      state: guild,
      voice,
      addMember(username, memberOptions = {}) {
        const user = guild.addMember(username, memberOptions.id);
        if (shardUp(guild)) {
          // GUILD_MEMBER_ADD needs the privileged GUILD_MEMBERS intent (1 << 1), as on Discord.
          if ((gateway.intents & (1 << 1)) !== 0) gateway.dispatch('GUILD_MEMBER_ADD', { ...guild.memberJson(user), guild_id: guild.id });
        }
        if (memberOptions.inVoice) setMemberVoiceChannel(user.id, guild.voiceChannel.id);
        return user;
      },
      setMemberVoiceChannel,
      dispatchInteraction(input) {
        const built =
          input.kind === 'slash'
            ? interactions.slashCommand(input, guild)
            : input.kind === 'button'
              ? interactions.component(input, guild)
              : interactions.modalSubmit(input, guild);
        gateway.dispatch('INTERACTION_CREATE', built.payload);
        return built.interaction;
      },
      dispatchMessage(input) {
        const author = guild.requireMember(input.authorId);
        const channelId = input.channelId ?? guild.textChannel.id;
        const message = messages.create(channelId, author, {
          content: input.content ?? '',
          ...(input.flags !== undefined ? { flags: input.flags } : {}),
        });
        message.attachments = (input.attachments ?? []).map(
          (a): StoredAttachment =>
            messages.addAttachment(a.filename, a.data, a.contentType, {
              ...(a.durationSecs !== undefined ? { durationSecs: a.durationSecs } : {}),
              ...(a.waveform !== undefined ? { waveform: a.waveform } : {}),
            }),
        );
        const inGuild = guild.channels.get(channelId)?.type !== ChannelType.DM;
        const member = guild.memberJson(author);
        delete member['user'];
        // A DM's MESSAGE_CREATE says its channel type (discord.js needs it for an uncached DM channel).
        gateway.dispatch('MESSAGE_CREATE', { ...messages.messageJson(message, guild), ...(inGuild ? { member } : { channel_type: ChannelType.DM }) });
        return message;
      },
      botVoiceChannelId: () => guild.voiceStates.get(bot.id)?.channelId ?? null,
    };
  }

  const first = guildHandle(primary);
  const handles: FakeGuild[] = [first];

  return {
    restUrl: `${baseUrl}/api`,
    cdnUrl: baseUrl,
    token,
    applicationId,
    botUserId: bot.id,
    guild: { id: primary.id, textChannelId: primary.textChannel.id, voiceChannelId: primary.voiceChannel.id, ownerId: primary.owner.id },
    state: primary,
    rest,
    gateway,
    commands,
    messages,
    interactions,
    botMessages,
    voice: first.voice,

    addGuild(guildOptions = {}) {
      const id = guildOptions.shard ? snowflakeOnShard(guildOptions.shard[0], guildOptions.shard[1]) : nextSnowflake();
      const state = new GuildState(bot, guildOptions.name ?? `Vocalis Test Guild ${guildStates.length + 1}`, id);
      guildStates.push(state);
      const handle = guildHandle(state);
      handles.push(handle);
      if (shardUp(state)) gateway.dispatch('GUILD_CREATE', state.guildCreateJson(), state.id);
      return handle;
    },
    guilds: () => handles,
    addMember: (username, memberOptions) => first.addMember(username, memberOptions),
    setMemberVoiceChannel: (userId, channelId) => first.setMemberVoiceChannel(userId, channelId),
    dispatchInteraction: (input) => first.dispatchInteraction(input),
    waitForInteractionResponse: (interactionId, timeoutMs) => interactions.responses.waitFor((r) => r.interactionId === interactionId, timeoutMs),
    waitForWebhookCall: (interactionId, kind, timeoutMs) =>
      interactions.webhookCalls.waitFor((c) => c.interactionId === interactionId && (kind === undefined || c.kind === kind), timeoutMs),
    dispatchMessage: (input) => first.dispatchMessage(input),
    openDm,
    closeDms(userId) {
      const guild = guildStates.find((g) => g.members.has(userId));
      if (!guild) throw new Error(`fake discord: unknown member ${userId}`);
      guild.closedDms.add(userId);
    },
    dispatch: (event, data) => gateway.dispatch(event, data),
    botVoiceChannelId: () => first.botVoiceChannelId(),

    async close() {
      await gateway.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await voiceServer.close();
      restoreTrust();
    },
  };
}

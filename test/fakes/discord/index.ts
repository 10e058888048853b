// A hermetic Discord for end-to-end tests: fake REST + CDN and gateway on one HTTP server,
// and a fake voice server (wss + UDP), wired together around one guild.
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
import { FakeGateway } from './gateway-server.ts';
import { ChannelType, GuildState, type FakeChannel, type FakeUser, type Json } from './guild-state.ts';
import { nextSnowflake, randomToken } from './ids.ts';
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
import { trustCertificate } from './voice/tls-cert.ts';
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
  const guild = new GuildState(bot);
  let baseUrl = '';
  const messages = new MessageStore(() => baseUrl);
  const commands = new CommandRegistry();
  const interactions = new InteractionRegistry(guild, messages, applicationId, (name) => commands.idOf(name, guild.id), {
    ...DISCORD_DEADLINES,
    ...options.interactionDeadlines,
  });
  let joinsStalled = false;
  const botMessages = new WaitableLog<StoredMessage>('a message from the bot');

  const voiceServer = await FakeVoiceServer.start(
    {
      onSessionReady: (session) => {
        const channelId = guild.voiceStates.get(session.userId)?.channelId;
        if (channelId)
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
      readyPayload: () => ({
        user: { ...guild.userJson(bot), verified: true, mfa_enabled: false, flags: 0 },
        application: { id: applicationId, flags: 0 },
        guilds: [{ id: guild.id, unavailable: true }],
      }),
      onIdentified: () => gateway.dispatch('GUILD_CREATE', guild.guildCreateJson()),
      onVoiceStateUpdate: (d) => onBotVoiceStateUpdate(d),
      membersChunk: (request) => {
        const ids = Array.isArray(request['user_ids']) ? request['user_ids'].map(String) : undefined;
        const query = typeof request['query'] === 'string' ? request['query'].toLowerCase() : '';
        return [...guild.members.values()]
          .filter((u) => (ids ? ids.includes(u.id) : u.username.toLowerCase().startsWith(query)))
          .map((u) => guild.memberJson(u));
      },
    },
  );

  function onBotVoiceStateUpdate(d: Json): void {
    if (d['guild_id'] !== guild.id) return;
    const channelId = typeof d['channel_id'] === 'string' ? d['channel_id'] : null;
    const sessionId = gateway.sessionId ?? crypto.randomUUID();
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
    guild,
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

  const setMemberVoiceChannel = (userId: string, channelId: string | null): void => {
    guild.requireMember(userId);
    const previousChannel = guild.voiceStates.get(userId)?.channelId ?? null;
    const state = guild.setVoiceChannel(userId, channelId);
    if (gateway.sessionId) gateway.dispatch('VOICE_STATE_UPDATE', guild.voiceStateJson(state, true));
    const botChannel = guild.voiceStates.get(bot.id)?.channelId ?? null;
    if (botChannel === null) return;
    if (channelId === botChannel) voiceServer.announceClients(guild.id, [userId]);
    else if (previousChannel === botChannel) voiceServer.announceDisconnect(guild.id, userId);
  };

  const openDm = (userId: string): FakeChannel => {
    guild.requireMember(userId);
    const existing = [...guild.channels.values()].find((c) => c.type === ChannelType.DM && c.recipientId === userId);
    if (existing) return existing;
    const channel: FakeChannel = { id: nextSnowflake(), type: ChannelType.DM, name: '', recipientId: userId };
    guild.channels.set(channel.id, channel);
    return channel;
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
      if (code === VoiceCloseCode.Disconnected && gateway.sessionId) {
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
    restUrl: `${baseUrl}/api`,
    cdnUrl: baseUrl,
    token,
    applicationId,
    botUserId: bot.id,
    guild: { id: guild.id, textChannelId: guild.textChannel.id, voiceChannelId: guild.voiceChannel.id, ownerId: guild.owner.id },
    state: guild,
    rest,
    gateway,
    commands,
    messages,
    interactions,
    botMessages,
    voice,

    addMember(username, memberOptions = {}) {
      const user = guild.addMember(username, memberOptions.id);
      if (gateway.sessionId) {
        // GUILD_MEMBER_ADD needs the privileged GUILD_MEMBERS intent (1 << 1), as on Discord.
        if ((gateway.intents & (1 << 1)) !== 0) gateway.dispatch('GUILD_MEMBER_ADD', { ...guild.memberJson(user), guild_id: guild.id });
      }
      if (memberOptions.inVoice) setMemberVoiceChannel(user.id, guild.voiceChannel.id);
      return user;
    },
    setMemberVoiceChannel,

    dispatchInteraction(input) {
      const built =
        input.kind === 'slash' ? interactions.slashCommand(input) : input.kind === 'button' ? interactions.component(input) : interactions.modalSubmit(input);
      gateway.dispatch('INTERACTION_CREATE', built.payload);
      return built.interaction;
    },
    waitForInteractionResponse: (interactionId, timeoutMs) => interactions.responses.waitFor((r) => r.interactionId === interactionId, timeoutMs),
    waitForWebhookCall: (interactionId, kind, timeoutMs) =>
      interactions.webhookCalls.waitFor((c) => c.interactionId === interactionId && (kind === undefined || c.kind === kind), timeoutMs),

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
      gateway.dispatch('MESSAGE_CREATE', { ...messages.messageJson(message, guild), ...(inGuild ? { member } : {}) });
      return message;
    },
    openDm,
    closeDms(userId) {
      guild.requireMember(userId);
      guild.closedDms.add(userId);
    },
    dispatch: (event, data) => gateway.dispatch(event, data),
    botVoiceChannelId: () => guild.voiceStates.get(bot.id)?.channelId ?? null,

    async close() {
      await gateway.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await voiceServer.close();
      restoreTrust();
    },
  };
}

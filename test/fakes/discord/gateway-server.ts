// The fake Discord gateway (v10, JSON encoding, no compression): one bot session per shard.
// It keeps every dispatch with its sequence number so a RESUME replays what the bot missed.
// Like Discord, it routes a guild's events to the shard `(guild_id >> 22) % shard_count` of the
// IDENTIFY's `shard: [id, count]` (no shard field: [0, 1]); events without a guild (DMs) go to shard 0.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Json } from './guild-state.ts';
import { shardOfGuild } from './ids.ts';
import { WaitableLog } from './waitable-log.ts';

export const GatewayOp = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;

export interface GatewayConnectionRecord {
  /** Path and query the bot connected with, e.g. '/gateway?v=10&encoding=json'. */
  readonly url: string;
  readonly at: number;
}

/** A payload the bot sent to the gateway. */
export interface GatewayFrameRecord {
  readonly op: number;
  readonly d: unknown;
  readonly at: number;
}

interface SentDispatch {
  readonly s: number;
  readonly t: string;
  readonly d: unknown;
}

/** A shard's place: [shard id, shard count], as IDENTIFY carries it. */
export type ShardPair = readonly [id: number, count: number];

interface GatewaySession {
  readonly id: string;
  seq: number;
  readonly sent: SentDispatch[];
  socket: WebSocket | null;
  readonly intents: number;
  readonly shard: ShardPair;
}

/** What a test may see of one shard's session. */
export interface GatewaySessionInfo {
  readonly sessionId: string;
  readonly shard: ShardPair;
  readonly connected: boolean;
}

/** Whether a guild's events go to this shard. */
export function guildOnShard(guildId: string, shard: ShardPair): boolean {
  return shardOfGuild(guildId, shard[1]) === shard[0];
}

export interface GatewayHooks {
  /** After READY went out on a fresh IDENTIFY: the place to send GUILD_CREATE for the shard's guilds. */
  readonly onIdentified: (shard: ShardPair) => void;
  /** The bot's op 4 (join, move or leave a voice channel). */
  readonly onVoiceStateUpdate: (data: Json) => void;
  /** Payload for READY (user, application, the shard's guilds). */
  readonly readyPayload: (shard: ShardPair) => Json;
  /** Members for an op 8 request, filtered by the request. */
  readonly membersChunk: (request: Json) => Json[];
}

export interface GatewayOptions {
  readonly token: string;
  readonly heartbeatIntervalMs: number;
}

function asJson(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

export class FakeGateway {
  readonly connections = new WaitableLog<GatewayConnectionRecord>('a gateway connection');
  readonly received = new WaitableLog<GatewayFrameRecord>('a gateway payload from the bot');
  readonly stats = { identifies: 0, resumes: 0, heartbeats: 0, invalidSessions: 0 };
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #options: GatewayOptions;
  readonly #hooks: GatewayHooks;
  /** Identified sessions by shard id (one per shard; a new IDENTIFY for a shard replaces its session). */
  readonly #sessions = new Map<number, GatewaySession>();
  /** Base ws:// URL, filled in once the HTTP server listens. */
  baseUrl = '';

  constructor(options: GatewayOptions, hooks: GatewayHooks) {
    this.#options = options;
    this.#hooks = hooks;
    this.#wss.on('connection', (socket, req) => this.#onConnection(socket, req));
  }

  get url(): string {
    return `${this.baseUrl}/gateway`;
  }

  /** The resume URL is distinct so tests can check the client honours resume_gateway_url. */
  get resumeUrl(): string {
    return `${this.baseUrl}/gateway-resume`;
  }

  /** Shard 0's session: the only one of an unsharded bot. */
  get #session(): GatewaySession | undefined {
    return this.#sessions.get(0);
  }

  get sessionId(): string | undefined {
    return this.#session?.id;
  }

  get intents(): number {
    return this.#session?.intents ?? 0;
  }

  /** True while the bot holds an identified or resumed connection (shard 0's, for a sharded bot). */
  get connected(): boolean {
    return this.#session?.socket != null;
  }

  /** The session that receives this guild's events, if that shard has identified. */
  sessionForGuild(guildId: string): GatewaySessionInfo | undefined {
    const session = this.#sessionForGuild(guildId);
    return session ? { sessionId: session.id, shard: session.shard, connected: session.socket !== null } : undefined;
  }

  #sessionForGuild(guildId: string): GatewaySession | undefined {
    for (const session of this.#sessions.values()) if (guildOnShard(guildId, session.shard)) return session;
    return undefined;
  }

  /** Every shard's session, by shard id. */
  sessions(): GatewaySessionInfo[] {
    return [...this.#sessions.values()].sort((a, b) => a.shard[0] - b.shard[0]).map((s) => ({ sessionId: s.id, shard: s.shard, connected: s.socket !== null }));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#wss.emit('connection', ws, req));
  }

  /**
   * Sends a dispatch (op 0) event to the shard it belongs to: the guild's shard when the data
   * has a `guild_id` (or `forGuild` names it: GUILD_CREATE carries the guild as `id`), else
   * shard 0. While that shard is disconnected the event is only buffered, and a later RESUME
   * replays it, as Discord does.
   */
  dispatch(t: string, d: unknown, forGuild?: string): void {
    const guildId = forGuild ?? asJson(d)['guild_id'];
    const session = typeof guildId === 'string' ? this.#sessionForGuild(guildId) : this.#session;
    if (!session) {
      throw new Error(`fake discord: cannot dispatch ${t} before the bot identified${typeof guildId === 'string' ? ` the shard of guild ${guildId}` : ''}`);
    }
    this.#dispatchTo(session, t, d);
  }

  #dispatchTo(session: GatewaySession, t: string, d: unknown): void {
    session.seq += 1;
    const event: SentDispatch = { s: session.seq, t, d };
    session.sent.push(event);
    if (session.socket) this.#send(session.socket, { op: GatewayOp.Dispatch, s: event.s, t, d });
  }

  /** Resolves once the bot is connected (after READY or RESUMED). */
  async waitUntilConnected(timeoutMs = 10_000): Promise<void> {
    const started = Date.now();
    while (!this.connected) {
      if (Date.now() - started > timeoutMs) throw new Error('fake discord: bot never connected to the gateway');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Drops the bot's gateway connection the way Discord does before asking for a resume:
   * close code 4000 (unknown error, resumable) by default, or op 7 RECONNECT.
   */
  forceReconnect(how: { closeCode?: number; viaOpcode?: boolean; shardId?: number } = {}): void {
    const socket = this.#sessions.get(how.shardId ?? 0)?.socket;
    if (!socket) throw new Error('fake discord: no gateway connection to drop');
    if (how.viaOpcode) this.#send(socket, { op: GatewayOp.Reconnect, d: null });
    else socket.close(how.closeCode ?? 4000, 'fake discord: forced reconnect');
  }

  /** Sends op 9; with resumable=false the bot must identify afresh. */
  invalidateSession(resumable: boolean): void {
    const socket = this.#session?.socket;
    if (!socket) throw new Error('fake discord: no gateway connection');
    this.stats.invalidSessions += 1;
    this.#send(socket, { op: GatewayOp.InvalidSession, d: resumable });
    // A non-resumable session is gone: only a fresh IDENTIFY gets the bot back.
    if (!resumable) this.#sessions.delete(0);
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #send(socket: WebSocket, payload: Json): void {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(payload));
  }

  #onConnection(socket: WebSocket, req: IncomingMessage): void {
    this.connections.push({ url: req.url ?? '', at: Date.now() });
    socket.on('message', (data) => this.#onMessage(socket, String(data)));
    socket.on('close', () => {
      for (const session of this.#sessions.values()) if (session.socket === socket) session.socket = null;
    });
    this.#send(socket, { op: GatewayOp.Hello, d: { heartbeat_interval: this.#options.heartbeatIntervalMs } });
  }

  #onMessage(socket: WebSocket, text: string): void {
    let payload: Json;
    try {
      payload = asJson(JSON.parse(text));
    } catch {
      socket.close(4002, 'Error while decoding payload.');
      return;
    }
    const op = Number(payload['op']);
    const d = payload['d'];
    this.received.push({ op, d, at: Date.now() });
    switch (op) {
      case GatewayOp.Heartbeat:
        this.stats.heartbeats += 1;
        this.#send(socket, { op: GatewayOp.HeartbeatAck });
        return;
      case GatewayOp.Identify:
        this.#identify(socket, asJson(d));
        return;
      case GatewayOp.Resume:
        this.#resume(socket, asJson(d));
        return;
      case GatewayOp.VoiceStateUpdate:
        if (!this.#sessionOn(socket)) return void socket.close(4003, 'Not authenticated.');
        this.#hooks.onVoiceStateUpdate(asJson(d));
        return;
      case GatewayOp.RequestGuildMembers: {
        const request = asJson(d);
        this.dispatch('GUILD_MEMBERS_CHUNK', {
          guild_id: request['guild_id'],
          members: this.#hooks.membersChunk(request),
          chunk_index: 0,
          chunk_count: 1,
          ...(request['nonce'] !== undefined ? { nonce: request['nonce'] } : {}),
        });
        return;
      }
      case GatewayOp.PresenceUpdate:
        return;
      default:
        socket.close(4001, 'Unknown opcode.');
    }
  }

  #sessionOn(socket: WebSocket): GatewaySession | undefined {
    for (const session of this.#sessions.values()) if (session.socket === socket) return session;
    return undefined;
  }

  #identify(socket: WebSocket, d: Json): void {
    if (d['token'] !== this.#options.token) return void socket.close(4004, 'Authentication failed.');
    const shard = parseShard(d['shard']);
    if (!shard) return void socket.close(4010, 'Invalid shard.');
    this.stats.identifies += 1;
    const previous = this.#sessions.get(shard[0])?.socket;
    if (previous && previous !== socket) previous.close(4009, 'Session replaced.');
    const session: GatewaySession = {
      id: crypto.randomUUID().replaceAll('-', ''),
      seq: 0,
      sent: [],
      socket,
      intents: Number(d['intents'] ?? 0),
      shard,
    };
    this.#sessions.set(shard[0], session);
    this.#dispatchTo(session, 'READY', {
      v: 10,
      ...this.#hooks.readyPayload(shard),
      session_id: session.id,
      resume_gateway_url: this.resumeUrl,
      session_type: 'normal',
      shard,
      user_settings: {},
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: ['fake'],
    });
    this.#hooks.onIdentified(shard);
  }

  #resume(socket: WebSocket, d: Json): void {
    const session = [...this.#sessions.values()].find((s) => s.id === d['session_id']);
    if (d['token'] !== this.#options.token) return void socket.close(4004, 'Authentication failed.');
    if (!session) {
      this.stats.invalidSessions += 1;
      this.#send(socket, { op: GatewayOp.InvalidSession, d: false });
      return;
    }
    this.stats.resumes += 1;
    session.socket = socket;
    const after = Number(d['seq'] ?? 0);
    for (const event of session.sent) {
      if (event.s > after) this.#send(socket, { op: GatewayOp.Dispatch, s: event.s, t: event.t, d: event.d });
    }
    this.#dispatchTo(session, 'RESUMED', null);
  }
}

/** IDENTIFY's `shard` field: absent means [0, 1]; anything but 0 ≤ id < count is refused (4010). */
function parseShard(value: unknown): ShardPair | null {
  if (value === undefined || value === null) return [0, 1];
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [id, count] = value.map(Number) as [number, number];
  return Number.isInteger(id) && Number.isInteger(count) && id >= 0 && count >= 1 && id < count ? [id, count] : null;
}

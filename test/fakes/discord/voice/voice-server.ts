// The fake Discord voice server: a wss:// voice gateway (v8, JSON and DAVE's binary messages)
// plus a UDP socket. It performs IP discovery, hands out an aead_aes256_gcm_rtpsize key, and by
// default negotiates DAVE (dave_protocol_version 1): it runs the call's MLS group as Discord's
// gateway does (dave-session.ts), and simulated members in it end-to-end encrypt what they send
// to the bot and decrypt what the bot sends. With `dave: false` it is the transport-only server
// Discord was before March 2026 (dave_protocol_version 0).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { randomToken } from '../ids.ts';
import type { Json } from '../guild-state.ts';
import { WaitableLog } from '../waitable-log.ts';
import { DaveCallSession } from './dave-session.ts';
import { isDaveFrame } from './dave-member.ts';
import type { RecordedFrame } from './frame-analysis.ts';
import { discoveryResponse, discoverySsrc, isDiscoveryRequest } from './ip-discovery.ts';
import { MlsExternalSender } from './mls-external-sender.ts';
import { ENCRYPTION_MODE, openOpusPacket, sealOpusPacket, SILENCE_FRAME } from './rtp-crypto.ts';
import { selfSignedCertificate } from '../../../support/tls-cert.ts';
import { DaveOp, VoiceCloseCode, VoiceOp } from './voice-opcodes.ts';

/** One voice connection of the bot, surviving voice RESUMEs. */
export interface VoiceSession {
  readonly guildId: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly token: string;
  /** The voice channel joined: DAVE's MLS group id. */
  readonly channelId: string;
  readonly ssrc: number;
  /** The IDENTIFY the bot sent: max_dave_protocol_version shows whether it offered DAVE. */
  readonly identify: Json;
  socket: WebSocket | null;
  /** Server-to-client message sequence (v8 seq / seq_ack). */
  seq: number;
  lastSeqAck: number | null;
  botAddress?: { readonly address: string; readonly port: number };
  mode?: string;
  secretKey?: Buffer;
  /** The call's DAVE group when DAVE was negotiated (kept across RESUMEs). */
  dave: DaveCallSession | null;
  resumes: number;
  closed: boolean;
}

interface PendingJoin {
  readonly token: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly channelId: string;
}

/** Per fake member sending state, so consecutive sends continue one RTP stream. */
interface MemberStream {
  readonly ssrc: number;
  sequence: number;
  timestamp: number;
  nonce: number;
}

export interface SendAudioOptions {
  /** Gap between packets; Discord clients send one 20 ms frame every 20 ms. */
  readonly intervalMs?: number;
  /** Wait after SPEAKING (op 5) so the bot maps ssrc → user before the first packet. */
  readonly leadInMs?: number;
  /** Append this many 0xF8 0xFF 0xFE frames, as real clients do when they stop talking. */
  readonly trailingSilenceFrames?: number;
  /** 32-bit words of RTP header extension per packet (0 = none). */
  readonly extensionWords?: number;
  /**
   * Under DAVE: send plain Opus although the member is in the group (default false), the
   * packets of discord.js #11445 (`UnencryptedWhenPassthroughDisabled`).
   */
  readonly unencrypted?: boolean;
  /** Under DAVE: wait until the member and the bot share the group's keys first (default true). */
  readonly waitForDave?: boolean;
}

export interface SendAudioResult {
  readonly ssrc: number;
  readonly packets: number;
  readonly elapsedMs: number;
}

export interface VoiceServerEvents {
  /** Called on every accepted or resumed voice session. */
  readonly onSessionReady?: (session: VoiceSession) => void;
}

export interface VoiceServerOptions {
  /** Negotiate DAVE end-to-end encryption, as Discord requires since March 2026 (default true). */
  readonly dave?: boolean;
}

const HEARTBEAT_INTERVAL_MS = 13_750;
const ADVERTISED_MODES = [ENCRYPTION_MODE, 'aead_xchacha20_poly1305_rtpsize'];

function asJson(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

export class FakeVoiceServer {
  readonly sessions: VoiceSession[] = [];
  /** Every decrypted frame the bot sent, in arrival order. */
  readonly frames = new WaitableLog<RecordedFrame>('an Opus frame from the bot');
  /** Every JSON payload the bot sent on a voice gateway. */
  readonly received = new WaitableLog<{ readonly op: number; readonly d: Json; readonly at: number }>('a voice gateway payload');
  /**
   * decryptErrors: transport (AES-GCM) failures. e2eeFailures: DAVE frames from the bot that no
   * member in the group could decrypt (not recorded as frames). plainInGroup: plain Opus from the
   * bot while members shared its group (recorded, with e2ee 'plain').
   */
  readonly stats = { decryptErrors: 0, unknownSsrcPackets: 0, keepAlives: 0, discoveries: 0, e2eeFailures: 0, plainInGroup: 0 };
  readonly #https: Server;
  readonly #wss: WebSocketServer;
  readonly #udp: Socket;
  readonly #pending = new Map<string, PendingJoin>();
  readonly #memberStreams = new Map<string, MemberStream>();
  readonly #events: VoiceServerEvents;
  readonly #usedSsrcs = new Set<number>();
  /** The voice gateway's MLS external sender; null when DAVE is off. */
  readonly #externalSender: MlsExternalSender | null;
  /** When set, every IDENTIFY is answered by closing the socket with this code (a refused join). */
  refuseIdentifyWith: number | null = null;

  private constructor(https: Server, udp: Socket, events: VoiceServerEvents, externalSender: MlsExternalSender | null) {
    this.#externalSender = externalSender;
    this.#https = https;
    this.#udp = udp;
    this.#events = events;
    this.#wss = new WebSocketServer({ server: https });
    this.#wss.on('connection', (socket) => this.#onConnection(socket));
    this.#udp.on('message', (packet, rinfo) => this.#onUdp(packet, rinfo));
  }

  static async start(events: VoiceServerEvents = {}, options: VoiceServerOptions = {}): Promise<FakeVoiceServer> {
    const externalSender = options.dave === false ? null : await MlsExternalSender.create();
    const tls = selfSignedCertificate();
    const https = createServer({ cert: tls.cert, key: tls.key });
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    return new FakeVoiceServer(https, udp, events, externalSender);
  }

  /** host:port, what VOICE_SERVER_UPDATE carries as `endpoint`. */
  get endpoint(): string {
    return `127.0.0.1:${(this.#https.address() as AddressInfo).port}`;
  }

  get udpPort(): number {
    return this.#udp.address().port;
  }

  /** Whether this server negotiates DAVE. */
  get daveEnabled(): boolean {
    return this.#externalSender !== null;
  }

  get certificatePem(): string {
    return selfSignedCertificate().cert;
  }

  /** Issues the token for the next IDENTIFY from this user in this guild (sent in VOICE_SERVER_UPDATE). */
  issueToken(guildId: string, userId: string, sessionId: string, channelId: string): string {
    const token = randomToken('voice');
    this.#pending.set(guildId, { token, userId, sessionId, channelId });
    return token;
  }

  /** The bot's live session in a guild: identified, with a key, not closed. */
  activeSession(guildId: string): VoiceSession | undefined {
    return this.sessions.findLast((s) => s.guildId === guildId && !s.closed && s.secretKey !== undefined);
  }

  async waitForActiveSession(guildId: string, timeoutMs = 10_000): Promise<VoiceSession> {
    const started = Date.now();
    for (;;) {
      const session = this.activeSession(guildId);
      if (session?.botAddress && session.socket) return session;
      if (Date.now() - started > timeoutMs) throw new Error('fake discord: the bot never completed a voice connection');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Frames from the bot, optionally only those of one guild. */
  recordedFrames(guildId?: string): RecordedFrame[] {
    return this.frames.entries.filter((f) => guildId === undefined || f.guildId === guildId);
  }

  /** Closes the bot's voice WebSocket with a close code (4014 = kicked, 4015 = server crash → resume). */
  disconnect(guildId: string, code: number = VoiceCloseCode.Disconnected): void {
    for (const session of this.sessions) {
      if (session.guildId !== guildId || session.closed || !session.socket) continue;
      // Resumable codes keep the session (ssrc, key) alive for the coming RESUME.
      const resumable = code < 4000 || code === VoiceCloseCode.ServerCrashed || code === VoiceCloseCode.SessionTimeout;
      if (!resumable) session.closed = true;
      session.socket.close(code, 'fake discord: disconnected');
    }
  }

  /** op 11: tells the bot who is in the call (what Discord sends after READY and on joins). */
  announceClients(guildId: string, userIds: readonly string[]): void {
    const session = this.activeSession(guildId);
    if (!session || userIds.length === 0) return;
    this.#send(session, VoiceOp.ClientsConnect, { user_ids: userIds });
    // Their DAVE clients join the group only now that the bot recognises them (op 11 first).
    for (const userId of userIds) session.dave?.memberJoined(userId);
  }

  /** op 13: a member left the call; the bot's receiver forgets their ssrc. */
  announceDisconnect(guildId: string, userId: string): void {
    const session = this.activeSession(guildId);
    if (!session) return;
    this.#send(session, VoiceOp.ClientDisconnect, { user_id: userId });
    session.dave?.memberLeft(userId);
  }

  /** The DAVE group of the bot's live session in a guild (undefined: none, or DAVE off). */
  daveSession(guildId: string): DaveCallSession | undefined {
    return this.activeSession(guildId)?.dave ?? undefined;
  }

  /** The ssrc the fake uses for a member's audio (stable per member). */
  ssrcOf(userId: string): number {
    return this.#memberStream(userId).ssrc;
  }

  /**
   * Sends a member's Opus frames (each one 20 ms) to the bot: op 5 SPEAKING maps the ssrc to the user,
   * then one encrypted RTP packet every intervalMs with consecutive sequence numbers and +960 timestamps.
   */
  async sendAudio(guildId: string, userId: string, frames: readonly Buffer[], options: SendAudioOptions = {}): Promise<SendAudioResult> {
    const session = await this.waitForActiveSession(guildId);
    const member = session.dave?.member(userId);
    if (member && options.waitForDave !== false) await session.dave!.settled(userId);
    const stream = this.#memberStream(userId);
    this.#send(session, VoiceOp.Speaking, { user_id: userId, ssrc: stream.ssrc, speaking: 1 });
    await new Promise((resolve) => setTimeout(resolve, options.leadInMs ?? 50));
    const all = [...frames, ...Array.from({ length: options.trailingSilenceFrames ?? 0 }, () => Buffer.from([0xf8, 0xff, 0xfe]))];
    const intervalMs = options.intervalMs ?? 20;
    const started = performance.now();
    for (let i = 0; i < all.length; i++) {
      // Schedule against the start time so timer lateness does not accumulate.
      const wait = started + i * intervalMs - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const key = session.secretKey;
      const address = session.botAddress;
      if (!key || !address || session.closed) throw new Error('fake discord: voice session ended while sending audio');
      stream.nonce = (stream.nonce + 1) >>> 0;
      // Under DAVE the member's client end-to-end encrypts first (keys of the moment), then the transport.
      const payload = member && !options.unencrypted ? member.encrypt(all[i]!) : all[i]!;
      const packet = sealOpusPacket(stream, payload, key, stream.nonce, options.extensionWords ?? 1);
      this.#udp.send(packet, address.port, address.address);
      stream.sequence = (stream.sequence + 1) & 0xffff;
      stream.timestamp = (stream.timestamp + 960) >>> 0;
    }
    return { ssrc: stream.ssrc, packets: all.length, elapsedMs: performance.now() - started };
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.dave?.close();
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.#https.closeAllConnections();
    await new Promise<void>((resolve) => this.#https.close(() => resolve()));
    await new Promise<void>((resolve) => this.#udp.close(() => resolve()));
  }

  #newSsrc(): number {
    let ssrc: number;
    do ssrc = randomInt(1, 2 ** 31);
    while (this.#usedSsrcs.has(ssrc));
    this.#usedSsrcs.add(ssrc);
    return ssrc;
  }

  #memberStream(userId: string): MemberStream {
    let stream = this.#memberStreams.get(userId);
    if (!stream) {
      stream = { ssrc: this.#newSsrc(), sequence: randomInt(0, 2 ** 16), timestamp: randomInt(0, 2 ** 31), nonce: 0 };
      this.#memberStreams.set(userId, stream);
    }
    return stream;
  }

  #send(session: VoiceSession, op: number, d: unknown): void {
    const socket = session.socket;
    if (!socket || socket.readyState !== socket.OPEN) return;
    session.seq += 1;
    socket.send(JSON.stringify({ op, d, seq: session.seq }));
  }

  /** A DAVE binary message: [seq u16][op u8][payload]. */
  #sendBinary(session: VoiceSession, op: number, payload: Buffer): void {
    const socket = session.socket;
    if (!socket || socket.readyState !== socket.OPEN) return;
    session.seq += 1;
    const header = Buffer.alloc(3);
    header.writeUInt16BE(session.seq & 0xffff, 0);
    header.writeUInt8(op, 2);
    socket.send(Buffer.concat([header, payload]));
  }

  #onConnection(socket: WebSocket): void {
    let session: VoiceSession | undefined;
    socket.send(JSON.stringify({ op: VoiceOp.Hello, d: { heartbeat_interval: HEARTBEAT_INTERVAL_MS, v: 8 } }));
    socket.on('close', () => {
      if (session?.socket === socket) session.socket = null;
    });
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        // DAVE binary from the client: [op u8][payload].
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
        const op = bytes.readUInt8(0);
        this.received.push({ op, d: { binaryBytes: bytes.length - 1 }, at: Date.now() });
        if (session?.dave) session.dave.onBotBinary(op, bytes.subarray(1));
        else socket.close(4002, 'Failed to decode payload');
        return;
      }
      let payload: Json;
      try {
        payload = asJson(JSON.parse(String(data)));
      } catch {
        socket.close(4002, 'Failed to decode payload');
        return;
      }
      const op = Number(payload['op']);
      const d = asJson(payload['d']);
      this.received.push({ op, d, at: Date.now() });
      if (op === VoiceOp.Identify) session = this.#identify(socket, d);
      else if (op === VoiceOp.Resume) session = this.#resume(socket, d);
      else if (op === VoiceOp.Heartbeat) {
        if (session) session.lastSeqAck = typeof d['seq_ack'] === 'number' ? d['seq_ack'] : null;
        socket.send(JSON.stringify({ op: VoiceOp.HeartbeatAck, d: { t: d['t'] } }));
      } else if (!session) socket.close(4003, 'Not authenticated');
      else if (op === VoiceOp.SelectProtocol) this.#selectProtocol(session, d);
      else if (op === DaveOp.TransitionReady || op === DaveOp.MlsInvalidCommitWelcome) session.dave?.onBotJson(op, d);
    });
  }

  #identify(socket: WebSocket, d: Json): VoiceSession | undefined {
    if (this.refuseIdentifyWith !== null) {
      socket.close(this.refuseIdentifyWith, 'fake discord: join refused');
      return undefined;
    }
    const guildId = String(d['server_id']);
    const pending = this.#pending.get(guildId);
    if (!pending || pending.token !== d['token'] || pending.userId !== d['user_id'] || pending.sessionId !== d['session_id']) {
      socket.close(VoiceCloseCode.AuthenticationFailed, 'Authentication failed');
      return undefined;
    }
    this.#pending.delete(guildId);
    if (this.#externalSender && !(Number(d['max_dave_protocol_version']) >= 1)) {
      socket.close(VoiceCloseCode.E2eeRequired, 'E2EE/DAVE protocol required');
      return undefined;
    }
    // A new session replaces the bot's older ones in this guild, and their DAVE groups end.
    for (const older of this.sessions) if (older.guildId === guildId) older.dave?.close();
    const session: VoiceSession = {
      guildId,
      userId: pending.userId,
      sessionId: pending.sessionId,
      token: pending.token,
      channelId: pending.channelId,
      dave: null,
      ssrc: this.#newSsrc(),
      identify: d,
      socket,
      seq: 0,
      lastSeqAck: null,
      resumes: 0,
      closed: false,
    };
    this.sessions.push(session);
    this.#send(session, VoiceOp.Ready, {
      ssrc: session.ssrc,
      ip: '127.0.0.1',
      port: this.udpPort,
      modes: ADVERTISED_MODES,
      heartbeat_interval: HEARTBEAT_INTERVAL_MS,
      experiments: [],
    });
    return session;
  }

  #resume(socket: WebSocket, d: Json): VoiceSession | undefined {
    const session = this.sessions.find((s) => !s.closed && s.guildId === d['server_id'] && s.sessionId === d['session_id'] && s.token === d['token']);
    if (!session) {
      socket.close(VoiceCloseCode.SessionNoLongerValid, 'Session is no longer valid');
      return undefined;
    }
    session.socket?.terminate();
    session.socket = socket;
    session.resumes += 1;
    this.#send(session, VoiceOp.Resumed, null);
    this.#events.onSessionReady?.(session);
    return session;
  }

  #selectProtocol(session: VoiceSession, d: Json): void {
    const data = asJson(d['data']);
    const mode = String(data['mode']);
    if (mode !== ENCRYPTION_MODE) {
      session.socket?.close(VoiceCloseCode.UnknownEncryptionMode, `fake discord only implements ${ENCRYPTION_MODE}`);
      return;
    }
    session.mode = mode;
    session.secretKey = randomBytes(32);
    if (this.#externalSender) {
      session.dave = new DaveCallSession(
        session.channelId,
        {
          userId: session.userId,
          sendBinary: (op, payload) => this.#sendBinary(session, op, payload),
          sendJson: (op, payload) => this.#send(session, op, payload),
        },
        this.#externalSender,
      );
    }
    this.#send(session, VoiceOp.SessionDescription, {
      mode,
      secret_key: [...session.secretKey],
      // 1: DAVE, which the client must take part in; 0: transport only, DAVE stays in pass-through.
      dave_protocol_version: session.dave ? 1 : 0,
      audio_codec: 'opus',
      video_codec: 'H264',
      media_session_id: randomToken('media'),
    });
    session.dave?.start();
    this.#events.onSessionReady?.(session);
  }

  #onUdp(packet: Buffer, rinfo: RemoteInfo): void {
    if (isDiscoveryRequest(packet)) {
      const ssrc = discoverySsrc(packet);
      const session = this.sessions.findLast((s) => s.ssrc === ssrc);
      if (!session) return;
      this.stats.discoveries += 1;
      session.botAddress = { address: rinfo.address, port: rinfo.port };
      this.#udp.send(discoveryResponse(ssrc, rinfo.address, rinfo.port), rinfo.port, rinfo.address);
      return;
    }
    if (packet.length <= 8) {
      // Keep-alive: Discord echoes it.
      this.stats.keepAlives += 1;
      this.#udp.send(packet, rinfo.port, rinfo.address);
      return;
    }
    const arrivedAtNs = process.hrtime.bigint();
    const ssrc = packet.readUInt32BE(8);
    const session = this.sessions.findLast((s) => s.ssrc === ssrc);
    if (!session?.secretKey) {
      this.stats.unknownSsrcPackets += 1;
      return;
    }
    let opened: ReturnType<typeof openOpusPacket>;
    try {
      opened = openOpusPacket(packet, session.secretKey);
    } catch {
      this.stats.decryptErrors += 1;
      return;
    }
    const payload = Buffer.from(opened.opus);
    let opus: Buffer = payload;
    let e2ee: RecordedFrame['e2ee'] = 'plain';
    const listeners = session.dave ? session.dave.groupMembers.map((id) => session.dave!.member(id)).filter((m) => m?.ready === true) : [];
    if (isDaveFrame(payload)) {
      // Every member in the group decrypts it, as each listener's client would.
      let decrypted: Buffer | undefined;
      for (const listener of listeners) {
        try {
          const plain = listener!.decrypt(session.userId, payload);
          decrypted ??= plain;
        } catch {
          // counted in the member's stats; the frame is lost for that listener
        }
      }
      if (!decrypted) {
        this.stats.e2eeFailures += 1;
        return;
      }
      opus = decrypted;
      e2ee = 'decrypted';
    } else if (listeners.length > 0 && !payload.equals(SILENCE_FRAME)) {
      this.stats.plainInGroup += 1;
    }
    this.frames.push({
      guildId: session.guildId,
      userId: session.userId,
      ssrc,
      sequence: opened.sequence,
      timestamp: opened.timestamp,
      opus,
      e2ee,
      arrivedAtNs,
    });
  }
}

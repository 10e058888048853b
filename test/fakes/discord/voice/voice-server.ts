// The fake Discord voice server: a wss:// voice gateway (v8, JSON only) plus a UDP socket.
// It performs IP discovery, hands out an aead_aes256_gcm_rtpsize key with DAVE turned off,
// records and decrypts every RTP packet the bot sends, and can send members' audio to the bot.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { randomToken } from '../ids.ts';
import type { Json } from '../guild-state.ts';
import { WaitableLog } from '../waitable-log.ts';
import type { RecordedFrame } from './frame-analysis.ts';
import { discoveryResponse, discoverySsrc, isDiscoveryRequest } from './ip-discovery.ts';
import { ENCRYPTION_MODE, openOpusPacket, sealOpusPacket } from './rtp-crypto.ts';
import { selfSignedCertificate } from './tls-cert.ts';
import { VoiceCloseCode, VoiceOp } from './voice-opcodes.ts';

/** One voice connection of the bot, surviving voice RESUMEs. */
export interface VoiceSession {
  readonly guildId: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly token: string;
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
  resumes: number;
  closed: boolean;
}

interface PendingJoin {
  readonly token: string;
  readonly userId: string;
  readonly sessionId: string;
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
  readonly stats = { decryptErrors: 0, unknownSsrcPackets: 0, keepAlives: 0, discoveries: 0 };
  readonly #https: Server;
  readonly #wss: WebSocketServer;
  readonly #udp: Socket;
  readonly #pending = new Map<string, PendingJoin>();
  readonly #memberStreams = new Map<string, MemberStream>();
  readonly #events: VoiceServerEvents;
  readonly #usedSsrcs = new Set<number>();
  /** When set, every IDENTIFY is answered by closing the socket with this code (a refused join). */
  refuseIdentifyWith: number | null = null;

  private constructor(https: Server, udp: Socket, events: VoiceServerEvents) {
    this.#https = https;
    this.#udp = udp;
    this.#events = events;
    this.#wss = new WebSocketServer({ server: https });
    this.#wss.on('connection', (socket) => this.#onConnection(socket));
    this.#udp.on('message', (packet, rinfo) => this.#onUdp(packet, rinfo));
  }

  static async start(events: VoiceServerEvents = {}): Promise<FakeVoiceServer> {
    const tls = selfSignedCertificate();
    const https = createServer({ cert: tls.cert, key: tls.key });
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    return new FakeVoiceServer(https, udp, events);
  }

  /** host:port, what VOICE_SERVER_UPDATE carries as `endpoint`. */
  get endpoint(): string {
    return `127.0.0.1:${(this.#https.address() as AddressInfo).port}`;
  }

  get udpPort(): number {
    return this.#udp.address().port;
  }

  get certificatePem(): string {
    return selfSignedCertificate().cert;
  }

  /** Issues the token for the next IDENTIFY from this user in this guild (sent in VOICE_SERVER_UPDATE). */
  issueToken(guildId: string, userId: string, sessionId: string): string {
    const token = randomToken('voice');
    this.#pending.set(guildId, { token, userId, sessionId });
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
    if (session && userIds.length > 0) this.#send(session, VoiceOp.ClientsConnect, { user_ids: userIds });
  }

  /** op 13: a member left the call; the bot's receiver forgets their ssrc. */
  announceDisconnect(guildId: string, userId: string): void {
    const session = this.activeSession(guildId);
    if (session) this.#send(session, VoiceOp.ClientDisconnect, { user_id: userId });
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
      const packet = sealOpusPacket(stream, all[i]!, key, stream.nonce, options.extensionWords ?? 1);
      this.#udp.send(packet, address.port, address.address);
      stream.sequence = (stream.sequence + 1) & 0xffff;
      stream.timestamp = (stream.timestamp + 960) >>> 0;
    }
    return { ssrc: stream.ssrc, packets: all.length, elapsedMs: performance.now() - started };
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.#https.closeAllConnections();
    await new Promise<void>((resolve) => this.#https.close(() => resolve()));
    await new Promise<void>((resolve) => this.#udp.close(() => resolve()));
  }

  #newSsrc(): number {
    let ssrc: number;
    do ssrc = randomInt(1, 2 ** 31); while (this.#usedSsrcs.has(ssrc));
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

  #onConnection(socket: WebSocket): void {
    let session: VoiceSession | undefined;
    socket.send(JSON.stringify({ op: VoiceOp.Hello, d: { heartbeat_interval: HEARTBEAT_INTERVAL_MS, v: 8 } }));
    socket.on('close', () => {
      if (session?.socket === socket) session.socket = null;
    });
    socket.on('message', (data, isBinary) => {
      if (isBinary) return; // DAVE binary opcodes: never expected, since DAVE is refused
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
    const session: VoiceSession = {
      guildId,
      userId: pending.userId,
      sessionId: pending.sessionId,
      token: pending.token,
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
    this.#send(session, VoiceOp.SessionDescription, {
      mode,
      secret_key: [...session.secretKey],
      // 0 = no end-to-end encryption: @discordjs/voice then keeps DAVE in pass-through.
      dave_protocol_version: 0,
      audio_codec: 'opus',
      video_codec: 'H264',
      media_session_id: randomToken('media'),
    });
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
    try {
      const opened = openOpusPacket(packet, session.secretKey);
      this.frames.push({
        guildId: session.guildId,
        userId: session.userId,
        ssrc,
        sequence: opened.sequence,
        timestamp: opened.timestamp,
        opus: Buffer.from(opened.opus),
        arrivedAtNs,
      });
    } catch {
      this.stats.decryptErrors += 1;
    }
  }
}

import { EventEmitter } from 'node:events';
import {
  entersState,
  joinVoiceChannel,
  VoiceConnectionDisconnectReason,
  VoiceConnectionStatus,
  type VoiceConnection,
  type VoiceConnectionState,
} from '@discordjs/voice';
import { PermissionFlagsBits, type Guild, type VoiceBasedChannel } from 'discord.js';
import type { Logger } from '../../observability/logger.ts';
import { AdapterError } from './adapter-error.ts';

/**
 * One voice connection per guild, shared by recordings and playback, held while
 * anything uses it (a lease) and left a little after the last lease ends. A lost
 * connection (kicked, channel deleted, network gone for good) is reported once with
 * `lost`, so recordings stop and queued speech is dropped.
 */
export interface VoiceLinkEvents {
  lost: [guildId: string, reason: 'kicked' | 'disconnected'];
}

interface Link {
  readonly connection: VoiceConnection;
  readonly channelId: string;
  leases: number;
  idleTimer: NodeJS.Timeout | null;
}

export interface VoiceLease {
  readonly connection: VoiceConnection;
  readonly channelId: string;
  release(): void;
}

const REQUIRED = [PermissionFlagsBits.ViewChannel, PermissionFlagsBits.Connect, PermissionFlagsBits.Speak];
/** Voice close code for "disconnected": kicked, the channel deleted, or no access. The client does not retry it. */
const KICKED = 4014;
/** A join closed by Discord this often is given up, whatever the code. */
const MAX_CLOSES_WHILE_JOINING = 2;

export class VoiceLinks extends EventEmitter<VoiceLinkEvents> {
  readonly #links = new Map<string, Link>();
  readonly #logger: Logger;
  readonly #idleLeaveMs: number;
  readonly #readyTimeoutMs: number;

  constructor(logger: Logger, options: { idleLeaveMs?: number; readyTimeoutMs?: number } = {}) {
    super();
    this.#logger = logger;
    this.#idleLeaveMs = options.idleLeaveMs ?? 30_000;
    this.#readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  }

  /** The voice channel the bot sits in for this guild, if any. */
  channelOf(guildId: string): string | null {
    return this.#links.get(guildId)?.channelId ?? null;
  }

  /**
   * Checks that the bot may join and speak in `channel` and is not busy in another
   * channel of the guild; throws an AdapterError the caller can show.
   */
  check(channel: VoiceBasedChannel): void {
    const me = channel.guild.members.me;
    const permissions = me ? channel.permissionsFor(me) : null;
    if (!permissions?.has(REQUIRED)) throw new AdapterError('discord.voice.missing_permissions');
    const current = this.#links.get(channel.guild.id);
    if (current && current.channelId !== channel.id) throw new AdapterError('discord.voice.busy_elsewhere');
  }

  /** Joins (or reuses) the guild's connection to `channel` and waits until it is ready. */
  async lease(channel: VoiceBasedChannel): Promise<VoiceLease> {
    this.check(channel);
    const guild = channel.guild;
    const link = this.#links.get(guild.id) ?? this.#join(guild, channel.id);
    link.leases++;
    if (link.idleTimer) clearTimeout(link.idleTimer);
    link.idleTimer = null;
    let released = false;
    const lease: VoiceLease = {
      connection: link.connection,
      channelId: link.channelId,
      release: () => {
        if (released) return;
        released = true;
        this.#release(guild.id, link);
      },
    };
    try {
      await this.#ready(link.connection);
    } catch (error) {
      // A join that did not become ready is dropped, never kept for the next request: that
      // one joins afresh (a new op 4) instead of waiting on a connection that is going nowhere.
      const failure = error instanceof JoinFailure ? error : new JoinFailure(null, this.#readyTimeoutMs);
      released = true;
      this.#drop(guild.id, link);
      this.#logger.warn(
        { guildId: guild.id, channelId: link.channelId, reason: failure.reason, closeCode: failure.closeCode },
        'could not join the voice channel',
      );
      throw failure.userError;
    }
    return lease;
  }

  /**
   * Waits until the connection is ready. Fails at once when Discord ends the join for good
   * (close 4014: kicked, or no access), closes it a second time, or it is destroyed; otherwise
   * after the ready timeout. The failure names the last close code Discord sent, if any.
   */
  async #ready(connection: VoiceConnection): Promise<void> {
    let closeCode: number | null = null;
    let closes = 0;
    const givenUp = new AbortController();
    // The library rejoins on most close codes without showing them in the connection's state:
    // the code is read from each voice websocket (networking) the join goes through.
    const watched = new WeakSet<object>();
    const watchNetworking = (state: VoiceConnectionState): void => {
      if (!('networking' in state) || watched.has(state.networking)) return;
      watched.add(state.networking);
      state.networking.once('close', (code: number) => {
        closeCode = code;
        // The library rejoins at once after most codes; a join Discord refuses again (4017 for a
        // client without DAVE, say) would loop and spend the gateway's 120 sends a minute.
        if (++closes >= MAX_CLOSES_WHILE_JOINING) givenUp.abort();
      });
    };
    watchNetworking(connection.state);
    const onState = (_old: VoiceConnectionState, state: VoiceConnectionState): void => {
      watchNetworking(state);
      if (state.status === VoiceConnectionStatus.Disconnected && state.reason === VoiceConnectionDisconnectReason.WebSocketClose) {
        closeCode = state.closeCode;
        if (state.closeCode === KICKED) givenUp.abort();
      } else if (state.status === VoiceConnectionStatus.Destroyed) {
        givenUp.abort();
      }
    };
    connection.on('stateChange', onState);
    try {
      await entersState(connection, VoiceConnectionStatus.Ready, AbortSignal.any([AbortSignal.timeout(this.#readyTimeoutMs), givenUp.signal]));
    } catch {
      throw new JoinFailure(closeCode, this.#readyTimeoutMs);
    } finally {
      connection.off('stateChange', onState);
    }
  }

  /** Forgets the guild's link (without reporting it lost) and leaves the channel. */
  #drop(guildId: string, link: Link): void {
    if (this.#links.get(guildId) === link) this.#links.delete(guildId);
    if (link.idleTimer) clearTimeout(link.idleTimer);
    link.idleTimer = null;
    link.leases = 0;
    if (link.connection.state.status !== VoiceConnectionStatus.Destroyed) link.connection.destroy();
  }

  #join(guild: Guild, channelId: string): Link {
    // Undeafened: a recording needs to hear the member (and only subscribes to them).
    const connection = joinVoiceChannel({ guildId: guild.id, channelId, adapterCreator: guild.voiceAdapterCreator, selfDeaf: false, selfMute: false });
    const link: Link = { connection, channelId, leases: 0, idleTimer: null };
    this.#links.set(guild.id, link);
    connection.on('stateChange', (_old, state) => {
      if (state.status === VoiceConnectionStatus.Disconnected)
        void this.#onDisconnected(guild.id, link, state.reason === VoiceConnectionDisconnectReason.WebSocketClose ? state.closeCode : null);
      if (state.status === VoiceConnectionStatus.Destroyed && this.#links.get(guild.id) === link) {
        this.#links.delete(guild.id);
        if (link.idleTimer) clearTimeout(link.idleTimer);
        this.emit('lost', guild.id, 'disconnected');
      }
    });
    connection.on('error', (error) => this.#logger.warn({ guildId: guild.id, err: error }, 'voice connection error'));
    this.#logger.info({ guildId: guild.id, channelId }, 'joined voice channel');
    return link;
  }

  /**
   * 4014 means kicked or the channel is gone — unless we were moved, in which case a
   * new voice server arrives at once. Other closes are retried by the library itself.
   */
  async #onDisconnected(guildId: string, link: Link, closeCode: number | null): Promise<void> {
    const grace = closeCode === KICKED ? 2_000 : 5_000;
    try {
      await Promise.race([
        entersState(link.connection, VoiceConnectionStatus.Signalling, grace),
        entersState(link.connection, VoiceConnectionStatus.Connecting, grace),
      ]);
    } catch {
      if (link.connection.state.status === VoiceConnectionStatus.Destroyed) return;
      this.#logger.info({ guildId, closeCode }, 'voice connection lost');
      if (this.#links.get(guildId) === link) {
        this.#links.delete(guildId);
        this.emit('lost', guildId, closeCode === KICKED ? 'kicked' : 'disconnected');
      }
      link.connection.destroy();
    }
  }

  #release(guildId: string, link: Link): void {
    link.leases = Math.max(0, link.leases - 1);
    if (link.leases > 0 || this.#links.get(guildId) !== link) return;
    link.idleTimer = setTimeout(() => {
      if (link.leases === 0 && this.#links.get(guildId) === link) {
        this.#links.delete(guildId);
        link.connection.destroy();
      }
    }, this.#idleLeaveMs);
    link.idleTimer.unref();
  }

  destroyAll(): void {
    for (const [guildId, link] of this.#links) {
      this.#links.delete(guildId);
      if (link.idleTimer) clearTimeout(link.idleTimer);
      link.connection.destroy();
    }
  }
}

/**
 * Why a join failed, for the log and the member: Discord closed the voice connection
 * (kicked, no access, a protocol the bot cannot speak — the close code says which), or
 * nothing answered in time (the voice region's server unreachable or down).
 */
class JoinFailure extends Error {
  readonly reason: 'closed' | 'timeout';
  readonly closeCode: number | null;
  readonly userError: AdapterError;

  constructor(closeCode: number | null, timeoutMs: number) {
    super(closeCode === null ? 'voice join timed out' : `voice join closed with ${closeCode}`);
    this.name = 'JoinFailure';
    this.closeCode = closeCode;
    this.reason = closeCode === null ? 'timeout' : 'closed';
    this.userError =
      closeCode === null
        ? new AdapterError('discord.voice.join_timeout', { seconds: Math.round(timeoutMs / 1000) })
        : new AdapterError('discord.voice.join_closed', { code: closeCode });
  }
}

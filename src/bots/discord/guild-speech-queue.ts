import { EventEmitter } from 'node:events';
import { AudioPlayerStatus, createAudioPlayer, createAudioResource, NoSubscriberBehavior, StreamType, type AudioPlayer } from '@discordjs/voice';
import type { VoiceBasedChannel } from 'discord.js';
import type { Logger } from '../../observability/logger.ts';
import { AdapterError } from './adapter-error.ts';
import { FairQueue } from './fair-queue.ts';
import type { Utterance, UtteranceEnd } from './utterance.ts';
import type { VoiceLease, VoiceLinks } from './voice-links.ts';

/**
 * A guild's /speak playback: a fair FIFO of utterances and one AudioPlayer.
 *
 *   idle ──enqueue──▶ connecting ──connection ready──▶ playing ──player idle──▶ idle (next item)
 *   connecting ──join failed──▶ idle (item ends `failed`, with the cause; next)
 *
 * Every utterance buffers from the moment it is queued; `stop` cancels buffers, and a
 * lost connection cancels everything.
 */
export type SpeechQueueState = 'idle' | 'connecting' | 'playing';

export interface SpeechQueueEvents {
  state: [state: SpeechQueueState, previous: SpeechQueueState];
  started: [utterance: Utterance];
  finished: [utterance: Utterance, reason: UtteranceEnd];
}

export interface QueueLimits {
  readonly perGuild: number;
  readonly perUser: number;
}

export class GuildSpeechQueue extends EventEmitter<SpeechQueueEvents> {
  readonly guildId: string;
  readonly #links: VoiceLinks;
  readonly #logger: Logger;
  readonly #channelOf: (utterance: Utterance) => VoiceBasedChannel | null;
  readonly #queue = new FairQueue<Utterance>();
  readonly #player: AudioPlayer;
  #state: SpeechQueueState = 'idle';
  #current: Utterance | null = null;
  #lease: VoiceLease | null = null;
  #closed = false;

  constructor(guildId: string, links: VoiceLinks, logger: Logger, channelOf: (utterance: Utterance) => VoiceBasedChannel | null) {
    super();
    this.guildId = guildId;
    this.#links = links;
    this.#logger = logger;
    this.#channelOf = channelOf;
    this.#player = createAudioPlayer({ behaviors: { noSubscriber: NoSubscriberBehavior.Pause } });
    this.#player.on('error', (error) => this.#logger.warn({ guildId, err: error }, 'audio player error'));
  }

  get state(): SpeechQueueState {
    return this.#state;
  }

  get current(): Utterance | null {
    return this.#current;
  }

  /** Items waiting (not counting the one playing). */
  get waiting(): number {
    return this.#queue.size;
  }

  waitingFor(userId: string): number {
    return this.#queue.countFor(userId);
  }

  /** Queues an utterance; returns its position (0 = playing now). */
  enqueue(utterance: Utterance): number {
    if (this.#closed) throw new Error('speech queue is closed');
    void utterance.startBuffering();
    const position = this.#queue.push(utterance.info.requesterId, utterance);
    if (this.#state === 'idle') {
      void this.#playNext();
      return 0;
    }
    return position;
  }

  /** Stops matching utterances, playing or queued; returns how many. */
  stop(predicate: (utterance: Utterance) => boolean, reason: Exclude<UtteranceEnd, 'finished'> = 'stopped'): number {
    const removed = this.#queue.remove(predicate);
    for (const u of removed) {
      u.cancel(reason);
      this.emit('finished', u, reason);
    }
    let count = removed.length;
    const current = this.#current;
    if (current && predicate(current)) {
      current.cancel(reason);
      this.#player.stop(true);
      count++;
    }
    return count;
  }

  /** The connection is gone: drop everything. */
  connectionLost(): void {
    this.stop(() => true, 'disconnected');
    this.#lease = null;
  }

  close(): void {
    this.#closed = true;
    this.stop(() => true, 'shutdown');
    this.#player.stop(true);
    this.#lease?.release();
    this.#lease = null;
  }

  async #playNext(): Promise<void> {
    if (this.#state !== 'idle' || this.#closed) return;
    const utterance = this.#queue.shift();
    if (!utterance) return;
    this.#current = utterance;
    this.#transition('connecting');
    try {
      const channel = this.#channelOf(utterance);
      if (!channel) throw new AdapterError('discord.voice.not_in_channel');
      const lease = await this.#links.lease(channel);
      this.#lease?.release();
      this.#lease = lease;
      if (utterance.endReason !== null) throw new Error('cancelled while connecting');
      lease.connection.subscribe(this.#player);
      const resource = createAudioResource(utterance.readable(), { inputType: StreamType.Opus });
      const idle = new Promise<void>((resolve) => {
        const onState = (_old: unknown, state: { status: AudioPlayerStatus }): void => {
          if (state.status !== AudioPlayerStatus.Idle) return;
          this.#player.off('stateChange', onState);
          resolve();
        };
        this.#player.on('stateChange', onState);
      });
      this.#player.play(resource);
      this.#transition('playing');
      this.emit('started', utterance);
      await idle;
      utterance.markFinished();
    } catch (error) {
      if (utterance.endReason === null) {
        // It never played (no channel, the join failed…): it ends `failed`, so the notice says why.
        this.#logger.warn({ guildId: this.guildId, utterance: utterance.info.id, err: error }, 'utterance could not play');
        utterance.cancel('failed', error);
      }
    }
    this.#current = null;
    this.emit('finished', utterance, utterance.endReason ?? 'finished');
    this.#transition('idle');
    void this.#playNext();
  }

  #transition(next: SpeechQueueState): void {
    const previous = this.#state;
    if (previous === next) return;
    this.#state = next;
    this.emit('state', next, previous);
    // Keep the connection a while after the queue empties (VoiceLinks leaves when idle).
    if (next === 'idle' && this.#queue.size === 0 && this.#lease) {
      this.#lease.release();
      this.#lease = null;
    }
  }
}

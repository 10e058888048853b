import { MessageFlags, type ChatInputCommandInteraction, type Guild, type VoiceBasedChannel } from 'discord.js';
import type { RateLimiter } from '../../core/rate-limiter.ts';
import { VocalisError } from '../../core/user-facing-error.ts';
import { t, type Locale } from '../../i18n/catalogue.ts';
import type { Logger } from '../../observability/logger.ts';
import { AdapterError, failureCode } from './adapter-error.ts';
import { isGuildAdmin } from './admin-check.ts';
import { MAX_SPEAK_CHARS } from './command-definitions.ts';
import { GuildSpeechQueue, type QueueLimits } from './guild-speech-queue.ts';
import { describeError, mention } from './messages.ts';
import { Utterance, type UtteranceEnd } from './utterance.ts';
import { isVoiceChannel } from './voice-channel.ts';
import { discordIdentity, guildContext, type DiscordVocalis } from './vocalis-port.ts';
import type { VoiceLinks } from './voice-links.ts';

export interface SpeakDeps {
  readonly vocalis: DiscordVocalis;
  readonly links: VoiceLinks;
  readonly logger: Logger;
  readonly limiter: RateLimiter;
  readonly leadFrames: number;
  readonly adminRole: string | undefined;
  readonly limits: QueueLimits;
  /** Measurements for benchmarks: called when an utterance starts playing. */
  readonly onStarted?: (utterance: Utterance) => void;
}

/** Extra audio buffered per synthesis already running in this process (0.5 s), up to 5 s in all. */
const LOAD_LEAD_FRAMES = 25;
const MAX_LEAD_FRAMES = 250;

/**
 * Playback lead for a new utterance. Synthesis shares the host's CPU: with many voices
 * speaking at once each one is produced more slowly than it plays, so it must start
 * further ahead (and not at its first phrase) or it stutters. Alone, the configured lead
 * and phrase-start keep first audio fast.
 */
export function leadUnderLoad(baseFrames: number, activeStreams: number): { leadFrames: number; startOnPhraseEnd: boolean } {
  const extra = Math.max(0, activeStreams - 1) * LOAD_LEAD_FRAMES;
  return { leadFrames: Math.min(MAX_LEAD_FRAMES, baseFrames + extra), startOnPhraseEnd: extra === 0 };
}

/**
 * Where an utterance's public notice lives, so an end other than "played" (consent
 * revoked, kicked, the join failed, /stop) is shown in it. Registered before the
 * utterance is queued: it can end before the notice is even posted.
 */
interface Announcement {
  readonly interaction: ChatInputCommandInteraction;
  readonly locale: Locale;
  readonly content: string;
  /** Resolves true once the notice is posted, false if posting failed (then there is nothing to edit). */
  readonly posted: Promise<boolean>;
}

/** /speak and /stop: per-guild fair queues in front of the voice connection. */
export class SpeakCommands {
  readonly #d: SpeakDeps;
  readonly #queues = new Map<string, GuildSpeechQueue>();
  readonly #announcements = new Map<number, Announcement>();
  /** Utterances that began playing: a failure then stopped them rather than kept them from playing. */
  readonly #started = new Set<number>();

  constructor(deps: SpeakDeps) {
    this.#d = deps;
  }

  queueOf(guild: Guild): GuildSpeechQueue {
    let queue = this.#queues.get(guild.id);
    if (!queue) {
      const channelOf = (u: Utterance): VoiceBasedChannel | null => {
        const channel = guild.channels.cache.get(u.info.channelId);
        return channel && isVoiceChannel(channel) ? channel : null;
      };
      queue = new GuildSpeechQueue(guild.id, this.#d.links, this.#d.logger, channelOf);
      queue.on('started', (u) => {
        this.#started.add(u.info.id);
        this.#d.onStarted?.(u);
      });
      queue.on('finished', (u, reason) => void this.#onFinished(u, reason));
      this.#queues.set(guild.id, queue);
    }
    return queue;
  }

  async speak(interaction: ChatInputCommandInteraction<'cached'>, locale: Locale): Promise<void> {
    const requestedAt = performance.now();
    const guild = interaction.guild;
    const user = interaction.user;
    const text = interaction.options.getString('text', true).trim();
    if (text.length > MAX_SPEAK_CHARS) throw new VocalisError('text_too_long', 'text too long', { max: MAX_SPEAK_CHARS });
    const speed = interaction.options.getNumber('speed') ?? 1;
    if (!(speed >= 0.5 && speed <= 2)) throw new AdapterError('discord.speak.bad_speed');
    const voiceUser = interaction.options.getUser('voice');
    const ownerId = voiceUser?.id ?? user.id;

    const channel = guild.voiceStates.cache.get(user.id)?.channel ?? null;
    if (!channel) throw new AdapterError('discord.voice.not_in_channel');
    this.#d.links.check(channel);

    const queue = this.queueOf(guild);
    if (queue.waiting >= this.#d.limits.perGuild || queue.waitingFor(user.id) >= this.#d.limits.perUser) throw new AdapterError('discord.speak.queue_full');
    this.#d.limiter.take(`discord:user:${user.id}`, `discord:guild:${guild.id}`);

    // speak() asks the consent gate now: no voice, an unshared voice or a forbidden text fail here.
    const lead = leadUnderLoad(this.#d.leadFrames, this.#d.vocalis.activeSpeechStreams);
    const utterance = new Utterance(
      { guildId: guild.id, requesterId: user.id, ownerId, channelId: channel.id },
      (signal) =>
        this.#d.vocalis.speak({
          requester: discordIdentity(user.id),
          ...(ownerId !== user.id ? { owner: discordIdentity(ownerId) } : {}),
          context: guildContext(guild.id),
          text,
          speed,
          signal,
        }),
      { ...lead, requestedAt },
    );
    // The disclosure goes to the whole channel with every utterance: it is an AI voice, and whose.
    const disclosure = t(locale, 'discord.speak.announce', {
      disclosure: t(locale, 'speak.disclosure', { owner: mention(ownerId) }),
      requester: mention(user.id),
    });
    let posted: (ok: boolean) => void = () => {};
    this.#announcements.set(utterance.info.id, {
      interaction,
      locale,
      content: disclosure,
      posted: new Promise((resolve) => {
        posted = resolve;
      }),
    });
    const position = queue.enqueue(utterance);
    this.#d.logger.info({ guildId: guild.id, userId: user.id, ownerId, utterance: utterance.info.id, position, chars: text.length }, 'speak queued');

    const content = position > 0 ? `${disclosure}\n${t(locale, 'discord.speak.queued', { position })}` : disclosure;
    try {
      await interaction.reply({ content, allowedMentions: { parse: [] } });
      posted(true);
    } catch (error) {
      // No disclosure, no synthetic speech.
      posted(false);
      queue.stop((u) => u === utterance);
      throw error;
    }
  }

  async stop(interaction: ChatInputCommandInteraction<'cached'>, locale: Locale): Promise<void> {
    const queue = this.#queues.get(interaction.guildId);
    const userId = interaction.user.id;
    const admin = isGuildAdmin(interaction, this.#d.adminRole);
    const count = queue ? queue.stop((u) => admin || u.info.requesterId === userId || u.info.ownerId === userId) : 0;
    const content = count > 0 ? t(locale, 'discord.stop.done', { count }) : t(locale, 'discord.stop.nothing');
    await interaction.reply({ content, flags: MessageFlags.Ephemeral });
  }

  /** Someone's voice was revoked: stop it everywhere now (the gate aborts streams too). */
  stopOwner(ownerId: string): void {
    for (const queue of this.#queues.values()) queue.stop((u) => u.info.ownerId === ownerId, 'consent_ended');
  }

  connectionLost(guildId: string): void {
    this.#queues.get(guildId)?.connectionLost();
  }

  close(): void {
    for (const queue of this.#queues.values()) queue.close();
    this.#queues.clear();
  }

  /** Every /speak ends in one visible outcome: it played, or its notice says why not. */
  async #onFinished(utterance: Utterance, reason: UtteranceEnd): Promise<void> {
    const announcement = this.#announcements.get(utterance.info.id);
    this.#announcements.delete(utterance.info.id);
    const started = this.#started.delete(utterance.info.id);
    const failure = reason === 'failed' ? utterance.failure : undefined;
    this.#d.logger.info(
      {
        guildId: utterance.info.guildId,
        utterance: utterance.info.id,
        reason,
        underruns: utterance.buffer.underruns,
        ...(failure === undefined ? {} : { cause: failureCode(failure) }),
      },
      'speak finished',
    );
    if (!announcement || reason === 'finished') return;
    if (!(await announcement.posted)) return;
    const { locale } = announcement;
    const why =
      reason === 'consent_ended'
        ? t(locale, 'discord.speak.consent_ended')
        : reason === 'disconnected'
          ? t(locale, 'discord.speak.disconnected')
          : reason === 'stopped'
            ? t(locale, 'discord.speak.stopped')
            : reason === 'shutdown'
              ? t(locale, 'discord.speak.shutdown')
              : t(locale, started ? 'discord.speak.stopped_because' : 'discord.speak.not_played', { reason: describeError(locale, failure) });
    await announcement.interaction.editReply({ content: `${announcement.content}\n${why}`, allowedMentions: { parse: [] } }).catch((error: unknown) => {
      this.#d.logger.warn({ guildId: utterance.info.guildId, utterance: utterance.info.id, err: error }, 'could not edit the speak notice');
    });
  }
}

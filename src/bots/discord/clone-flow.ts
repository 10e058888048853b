import { MessageFlags, type Attachment, type ButtonInteraction, type ChatInputCommandInteraction, type Message, type VoiceState } from 'discord.js';
import type { ClipOutcome } from '../../core/vocalis.ts';
import { localeFrom, t, type Locale } from '../../i18n/catalogue.ts';
import { queuedMessage } from '../../i18n/clone-messages.ts';
import { mainProblem } from '../../i18n/sample-messages.ts';
import type { Logger } from '../../observability/logger.ts';
import { AdapterError, failureCode } from './adapter-error.ts';
import { consentPrompt, scriptEmbed, stopRecordingRow } from './consent-prompt.ts';
import type { JobNotifier } from './job-notifier.ts';
import { LastingReply } from './lasting-reply.ts';
import { describeError, text } from './messages.ts';
import { receivePackets } from './packet-receiver.ts';
import { RecordingSession, type RecordingResult } from './recording-session.ts';
import { downloadUpload, MAX_UPLOAD_BYTES, type UploadLike } from './upload-download.ts';
import { discordIdentity, guildContext, type DiscordVocalis } from './vocalis-port.ts';
import type { VoiceLinks } from './voice-links.ts';

export interface CloneTimings {
  /** How long the consent notice waits for Agree / Cancel. */
  readonly consentTimeoutMs: number;
  /** Longest recording (or wait for uploads) after Agree. */
  readonly recordingTimeoutMs: number;
  /** How often the progress message is edited. */
  readonly progressEveryMs: number;
  /** Speech packets per clip handed to the core (600 = 12 s). */
  readonly clipPackets: number;
  /** A member whose packets arrive but never become audio for this long cannot be recorded here. */
  readonly receiveStallMs: number;
  /** Nothing at all received from the member for this long: the progress message says so. */
  readonly quietNoticeMs: number;
}

export const DEFAULT_CLONE_TIMINGS: CloneTimings = {
  consentTimeoutMs: 5 * 60_000,
  recordingTimeoutMs: 5 * 60_000,
  progressEveryMs: 3_000,
  clipPackets: 600,
  receiveStallMs: 3_000,
  quietNoticeMs: 10_000,
};

type Source = 'voice' | 'upload';

/** The one message a member's /clone lives in: the ephemeral reply, and after its token expired a DM or channel message. */
type CloneMessage = LastingReply;

/** One member's /clone, from the notice to the end of the sample. At most one per member. */
type ActiveClone =
  | {
      readonly kind: 'offer';
      readonly consentId: string;
      readonly guildId: string;
      readonly locale: Locale;
      readonly source: Source;
      readonly file: Attachment | null;
      readonly timer: NodeJS.Timeout;
      readonly message: CloneMessage;
    }
  | { readonly kind: 'recording'; readonly guildId: string; readonly channelId: string; readonly session: RecordingSession }
  | {
      readonly kind: 'upload';
      readonly guildId: string;
      readonly locale: Locale;
      readonly message: CloneMessage;
      readonly timer: NodeJS.Timeout;
      chain: Promise<void>;
      readonly done: (content?: string) => void;
    }
  | { readonly kind: 'starting'; readonly guildId: string };

export interface CloneDeps {
  readonly vocalis: DiscordVocalis;
  readonly links: VoiceLinks;
  readonly logger: Logger;
  readonly jobs: JobNotifier;
  readonly timings: CloneTimings;
}

/**
 * /clone: consent notice → Agree → a recording in the member's voice channel (or
 * uploads) → the core's verdicts → the fine-tune. Nothing is recorded before Agree:
 * the bot does not even join the channel until then.
 */
export class CloneFlow {
  readonly #d: CloneDeps;
  readonly #active = new Map<string, ActiveClone>();

  constructor(deps: CloneDeps) {
    this.#d = deps;
  }

  /** The member's running recording session, if any (for tests and /voice status). */
  sessionOf(userId: string): RecordingSession | null {
    const active = this.#active.get(userId);
    return active?.kind === 'recording' ? active.session : null;
  }

  async command(interaction: ChatInputCommandInteraction<'cached'>, locale: Locale): Promise<void> {
    const userId = interaction.user.id;
    if (this.#active.has(userId)) throw new AdapterError('discord.clone.busy');
    const file = interaction.options.getAttachment('file');
    const source: Source = (interaction.options.getString('source') as Source | null) ?? (file ? 'upload' : 'voice');
    if (source === 'voice') {
      const channel = interaction.guild.voiceStates.cache.get(userId)?.channel;
      if (!channel) throw new AdapterError('discord.voice.not_in_channel');
      this.#d.links.check(channel);
    }
    if (file) precheckUpload(file);

    const identity = discordIdentity(userId);
    const message = new LastingReply(interaction, locale, this.#d.logger);
    const status = this.#d.vocalis.status(identity);
    if (status.consent?.state === 'granted') {
      // Consent is already given (an earlier /clone stopped before the sample was complete): continue.
      this.#active.set(userId, { kind: 'starting', guildId: interaction.guildId });
      await interaction.reply({ content: t(locale, 'discord.clone.continue'), flags: MessageFlags.Ephemeral });
      await this.#begin({ userId, guildId: interaction.guildId, locale, source, file, message, interaction });
      return;
    }

    const offer = this.#d.vocalis.offerConsent({ identity, language: locale, context: guildContext(interaction.guildId) });
    const minutes = Math.max(1, Math.round(this.#d.timings.consentTimeoutMs / 60_000));
    const timer = setTimeout(() => void this.#expire(userId, offer.consent.id), this.#d.timings.consentTimeoutMs);
    this.#active.set(userId, { kind: 'offer', consentId: offer.consent.id, guildId: interaction.guildId, locale, source, file, timer, message });
    this.#d.logger.info({ guildId: interaction.guildId, userId, consentId: offer.consent.id, source }, 'consent offered');
    try {
      await interaction.reply({ ...consentPrompt(locale, offer, minutes), flags: MessageFlags.Ephemeral });
    } catch (error) {
      clearTimeout(timer);
      this.#active.delete(userId);
      throw error;
    }
  }

  /** The clicker's open offer for this consent, its timeout cleared; null (after telling them) when there is none. */
  async #takeOffer(button: ButtonInteraction<'cached'>, consentId: string) {
    const active = this.#active.get(button.user.id);
    if (active?.kind !== 'offer' || active.consentId !== consentId) {
      await button.reply({ content: t(localeOf(button.locale), 'consent.expired'), flags: MessageFlags.Ephemeral });
      return null;
    }
    clearTimeout(active.timer);
    return active;
  }

  async agree(button: ButtonInteraction<'cached'>, consentId: string): Promise<void> {
    const userId = button.user.id;
    const active = await this.#takeOffer(button, consentId);
    if (!active) return;
    const { locale } = active;
    this.#active.set(userId, { kind: 'starting', guildId: active.guildId });
    let receipt: ReturnType<DiscordVocalis['acceptConsent']>;
    try {
      receipt = this.#d.vocalis.acceptConsent({ identity: discordIdentity(userId), consentId });
    } catch (error) {
      this.#active.delete(userId);
      await button.update({ content: describeError(locale, error), embeds: [], components: [] });
      return;
    }
    this.#d.logger.info({ guildId: active.guildId, userId, consentId }, 'consent granted');
    const granted = t(locale, 'consent.granted', { consentId: receipt.consentId, textId: receipt.textId, hash: receipt.textSha256.slice(0, 16) });
    await button.update({ content: granted, components: [] });
    const message = new LastingReply(button, locale, this.#d.logger);
    await this.#begin({ userId, guildId: active.guildId, locale, source: active.source, file: active.file, message, interaction: button, prefix: granted });
  }

  async cancel(button: ButtonInteraction<'cached'>, consentId: string): Promise<void> {
    const userId = button.user.id;
    const active = await this.#takeOffer(button, consentId);
    if (!active) return;
    const { locale } = active;
    this.#active.delete(userId);
    try {
      this.#d.vocalis.declineConsent({ identity: discordIdentity(userId), consentId });
      await button.update({ content: t(locale, 'consent.declined'), embeds: [], components: [] });
    } catch (error) {
      await button.update({ content: describeError(locale, error), embeds: [], components: [] });
    }
  }

  /** The Stop button under a recording; only its owner sees it (the message is ephemeral). */
  async stopButton(button: ButtonInteraction<'cached'>, ownerId: string): Promise<void> {
    const active = this.#active.get(ownerId);
    if (button.user.id !== ownerId || !active || (active.kind !== 'recording' && active.kind !== 'upload')) {
      await button.deferUpdate();
      return;
    }
    await button.deferUpdate();
    if (active.kind === 'recording') await active.session.stop('cancelled');
    else active.done(t(active.locale, 'discord.recording.cancelled'));
  }

  /** A member moved or left: a recording follows only the channel it started in. */
  onVoiceState(state: VoiceState): void {
    const active = this.#active.get(state.id);
    if (active?.kind === 'recording' && active.guildId === state.guild.id && state.channelId !== active.channelId) {
      void active.session.stop('left_channel');
    }
  }

  /** A Discord voice message (or audio attachment) from a member whose /clone waits for uploads. */
  onMessage(message: Message): void {
    const active = this.#active.get(message.author.id);
    if (active?.kind !== 'upload' || message.guildId !== active.guildId) return;
    const attachment = message.attachments.first();
    if (!attachment) return;
    active.chain = active.chain.then(() => this.#takeUpload(message.author.id, active, attachment));
  }

  connectionLost(guildId: string): void {
    for (const active of this.#active.values()) {
      if (active.kind === 'recording' && active.guildId === guildId) void active.session.stop('disconnected');
    }
  }

  /** A member's consent was revoked: whatever their /clone was doing ends now. */
  stopUser(userId: string): void {
    const active = this.#active.get(userId);
    if (active?.kind === 'recording') void active.session.stop('consent_ended');
    else if (active?.kind === 'upload') active.done(t(active.locale, 'error.no_consent'));
  }

  close(): void {
    for (const active of this.#active.values()) {
      if (active.kind === 'offer') clearTimeout(active.timer);
      if (active.kind === 'recording') void active.session.stop('cancelled');
      if (active.kind === 'upload') clearTimeout(active.timer);
    }
    this.#active.clear();
  }

  async #expire(userId: string, consentId: string): Promise<void> {
    const active = this.#active.get(userId);
    if (active?.kind !== 'offer' || active.consentId !== consentId) return;
    this.#active.delete(userId);
    this.#d.logger.info({ userId, consentId }, 'consent offer timed out');
    await active.message.edit({ content: t(active.locale, 'consent.expired'), embeds: [], components: [] }).catch(() => undefined);
  }

  async #begin(input: {
    userId: string;
    guildId: string;
    locale: Locale;
    source: Source;
    file: Attachment | null;
    message: CloneMessage;
    interaction: ChatInputCommandInteraction<'cached'> | ButtonInteraction<'cached'>;
    prefix?: string;
  }): Promise<void> {
    const { userId, locale, message } = input;
    try {
      if (input.source === 'voice') await this.#record(input);
      else await this.#awaitUploads(input);
    } catch (error) {
      this.#active.delete(userId);
      this.#d.logger.warn({ userId, err: error }, 'clone could not continue');
      await message
        .edit({ content: `${input.prefix ? `${input.prefix}\n` : ''}${describeError(locale, error)}`, embeds: [], components: [] })
        .catch(() => undefined);
    }
  }

  async #record(input: {
    userId: string;
    guildId: string;
    locale: Locale;
    message: CloneMessage;
    interaction: ChatInputCommandInteraction<'cached'> | ButtonInteraction<'cached'>;
    prefix?: string;
  }): Promise<void> {
    const { userId, locale, message } = input;
    const guild = input.interaction.guild;
    const channel = guild.voiceStates.cache.get(userId)?.channel;
    if (!channel) throw new AdapterError('discord.voice.not_in_channel');
    this.#d.links.check(channel);
    const identity = discordIdentity(userId);
    const status = this.#d.vocalis.status(identity);
    const script = status.script;
    // The consent statement is read first and judged as one piece (cut at the member's pause).
    const readingFirst = status.verification?.status === 'awaiting_reading';
    const { receiveStallMs } = this.#d.timings;

    const session = new RecordingSession({
      open: async (onPacket, onUnreceivable) => {
        const lease = await this.#d.links.lease(channel);
        // Only the consenting member is subscribed to; nobody else's audio is received.
        const subscription = receivePackets(lease.connection.receiver, userId, onPacket, onUnreceivable, { stallMs: receiveStallMs });
        return {
          stop: () => {
            subscription.stop();
            lease.release();
          },
        };
      },
      submitClip: (wav) => this.#d.vocalis.addClip({ identity, audio: wav }),
      targetSeconds: status.sample.targetSeconds,
      storedSeconds: status.sample.speechSeconds,
      readingFirst,
      clipPackets: this.#d.timings.clipPackets,
      timeoutMs: this.#d.timings.recordingTimeoutMs,
      unusableLimit: Math.max(1, Math.round(receiveStallMs / 20)),
      quietNoticeMs: this.#d.timings.quietNoticeMs,
    });
    this.#active.set(userId, { kind: 'recording', guildId: guild.id, channelId: channel.id, session });

    let notice = '';
    /** "Nothing heard for a while", until the next packet. */
    let hint = '';
    let lastEdit = 0;
    let editing = false;
    const header = `${input.prefix ? `${input.prefix}\n\n` : ''}${t(locale, readingFirst ? 'discord.recording.started_reading' : 'discord.recording.started')}`;
    const embeds = script ? [scriptEmbed(locale, script)] : [];
    const show = async (force: boolean): Promise<void> => {
      const now = Date.now();
      if (!force && (editing || now - lastEdit < this.#d.timings.progressEveryMs)) return;
      if (session.state.status !== 'recording' && !force) return;
      lastEdit = now;
      editing = true;
      const p = session.progress();
      const content = `${header}\n${t(locale, 'discord.recording.progress', { net: p.netSeconds, target: p.targetSeconds })}${notice ? `\n${notice}` : ''}${hint ? `\n${hint}` : ''}`;
      await message.edit({ content, embeds, components: [stopRecordingRow(locale, userId)] }).catch(() => undefined);
      editing = false;
    };
    session.on('progress', () => {
      const force = hint !== '';
      hint = '';
      void show(force);
    });
    session.on('quiet', () => {
      hint = t(locale, 'discord.recording.nothing_heard');
      void show(true);
    });
    session.on('clip', (outcome, kind) => {
      notice = outcome.kind === 'refused' ? refusalText(locale, outcome) : kind === 'reading' ? t(locale, 'discord.recording.reading_heard') : '';
      this.#d.logger.info({ userId, clip: kind, kind: outcome.kind, net: Math.round(outcome.verdict.netSpeechSeconds) }, 'recording clip judged');
      void show(true);
    });
    session.on('stateChange', (_old, next) => this.#d.logger.info({ userId, guildId: guild.id, state: next.status }, 'recording state'));
    session.once(
      'end',
      (result) => void this.#finishRecording({ userId, guildId: guild.id, locale, message, result, ...(input.prefix ? { prefix: input.prefix } : {}) }),
    );
    // "Read the script aloud" only once the bot is in the channel and listening: until then
    // the member is told to wait, and a failed join ends in "I could not join" (the end event).
    const started = session.start();
    await message
      .edit({ content: `${input.prefix ? `${input.prefix}\n\n` : ''}${t(locale, 'discord.recording.joining')}`, embeds, components: [] })
      .catch(() => undefined);
    await started;
    if (session.state.status === 'recording') await show(true);
  }

  async #finishRecording(input: {
    userId: string;
    guildId: string;
    locale: Locale;
    message: CloneMessage;
    result: RecordingResult;
    prefix?: string;
  }): Promise<void> {
    const { userId, locale, message, result, prefix } = input;
    const active = this.#active.get(userId);
    if (active?.kind === 'recording') this.#active.delete(userId);
    const p = result.progress;
    let content: string;
    if (result.state === 'done' && result.completion) content = this.#completionText(userId, locale, message, result.completion);
    else if (result.reason === 'cancelled') content = t(locale, 'discord.recording.cancelled');
    else if (result.reason === 'timeout')
      content = t(locale, 'discord.recording.timeout', {
        minutes: Math.round(this.#d.timings.recordingTimeoutMs / 60_000),
        net: p.netSeconds,
        target: p.targetSeconds,
      });
    else if (result.reason === 'left_channel') content = t(locale, 'discord.recording.left');
    else if (result.reason === 'disconnected') content = t(locale, 'discord.recording.disconnected');
    else if (result.reason === 'consent_ended') content = t(locale, 'error.no_consent');
    else if (result.reason === 'unreceivable') content = t(locale, 'discord.recording.unreceivable');
    else content = result.error === undefined ? t(locale, 'discord.recording.failed') : describeError(locale, result.error);
    this.#d.logger.info(
      {
        userId,
        state: result.state,
        reason: result.reason,
        packets: result.packets,
        unusable: result.unusable,
        ...(result.error === undefined ? {} : { cause: failureCode(result.error) }),
      },
      'recording ended',
    );
    if (result.reason === 'unreceivable' && !this.#active.has(userId)) {
      // The voice channel cannot carry this member's audio: offer the voice-message path at
      // once, under the same consent (a voice message or file does not use the receive path).
      const offer = `${prefix ? `${prefix}\n\n` : ''}${content}`;
      await this.#awaitUploads({ userId, guildId: input.guildId, locale, file: null, message, prefix: offer }).catch(async (error: unknown) => {
        this.#active.delete(userId);
        await message.edit({ content: `${offer}\n${describeError(locale, error)}`, embeds: [], components: [] }).catch(() => undefined);
      });
      return;
    }
    await message.edit({ content: `${prefix ? `${prefix}\n\n` : ''}${content}`, embeds: [], components: [] }).catch(() => undefined);
  }

  #completionText(userId: string, locale: Locale, message: CloneMessage, outcome: Extract<ClipOutcome, { kind: 'stored' }>): string {
    const accepted = t(locale, 'sample.accepted', { net: Math.floor(outcome.verdict.netSpeechSeconds) });
    if (!outcome.clone) return accepted;
    this.#d.jobs.follow({ jobId: outcome.clone.jobId, userId, locale, reply: message });
    return `${accepted}\n${queuedMessage(locale, outcome.clone)}`;
  }

  async #awaitUploads(input: {
    userId: string;
    guildId: string;
    locale: Locale;
    file: Attachment | null;
    message: CloneMessage;
    prefix?: string;
  }): Promise<void> {
    const { userId, locale, message } = input;
    const timer = setTimeout(() => {
      const status = this.#d.vocalis.status(discordIdentity(userId));
      finish(
        t(locale, 'discord.recording.timeout', {
          minutes: Math.round(this.#d.timings.recordingTimeoutMs / 60_000),
          net: Math.floor(status.sample.speechSeconds),
          target: status.sample.targetSeconds,
        }),
      );
    }, this.#d.timings.recordingTimeoutMs);
    /** Ends the wait for uploads; with `content`, says why in the /clone message. */
    const finish = (content?: string): void => {
      clearTimeout(timer);
      if (this.#active.get(userId) !== active) return;
      this.#active.delete(userId);
      if (content !== undefined) void message.edit({ content, embeds: [], components: [] }).catch(() => undefined);
    };
    const active: ActiveClone & { kind: 'upload' } = { kind: 'upload', guildId: input.guildId, locale, message, timer, chain: Promise.resolve(), done: finish };
    this.#active.set(userId, active);
    const status = this.#d.vocalis.status(discordIdentity(userId));
    await message
      .edit({
        content: `${input.prefix ? `${input.prefix}\n\n` : ''}${t(locale, 'discord.upload.prompt', { net: Math.floor(status.sample.speechSeconds), target: status.sample.targetSeconds })}`,
        components: [stopRecordingRow(locale, userId)],
      })
      .catch(() => undefined);
    if (input.file) {
      const file = input.file;
      active.chain = active.chain.then(() => this.#takeUpload(userId, active, file));
      await active.chain;
    }
  }

  async #takeUpload(userId: string, active: ActiveClone & { kind: 'upload' }, upload: UploadLike): Promise<void> {
    if (this.#active.get(userId) !== active) return;
    const { locale, message } = active;
    await message.edit({ content: t(locale, 'discord.upload.working') }).catch(() => undefined);
    let content: string;
    try {
      const audio = await downloadUpload(upload);
      const outcome = await this.#d.vocalis.addClip({ identity: discordIdentity(userId), audio });
      this.#d.logger.info({ userId, kind: outcome.kind, bytes: audio.byteLength }, 'upload judged');
      if (outcome.kind === 'stored' && outcome.complete) {
        active.done();
        content = this.#completionText(userId, locale, message, outcome);
        await message.edit({ content, embeds: [], components: [] }).catch(() => undefined);
        return;
      }
      const progress = t(locale, 'discord.upload.prompt', { net: Math.floor(outcome.verdict.netSpeechSeconds), target: outcome.verdict.targetSpeechSeconds });
      content = outcome.kind === 'refused' ? `${refusalText(locale, outcome)}\n${progress}` : progress;
    } catch (error) {
      this.#d.logger.info({ userId, code: failureCode(error) }, 'upload refused');
      const status = this.#d.vocalis.status(discordIdentity(userId));
      content = `${describeError(locale, error)}\n${t(locale, 'discord.upload.prompt', { net: Math.floor(status.sample.speechSeconds), target: status.sample.targetSeconds })}`;
    }
    await message.edit({ content, components: [stopRecordingRow(locale, userId)] }).catch(() => undefined);
  }
}

function precheckUpload(file: Attachment): void {
  // The same checks downloadUpload makes, before any consent is asked for.
  if (file.size > MAX_UPLOAD_BYTES) throw new AdapterError('discord.upload.too_large', { mb: Math.round(MAX_UPLOAD_BYTES / (1024 * 1024)) });
}

function refusalText(locale: Locale, outcome: ClipOutcome): string {
  const rendered = mainProblem(locale, outcome.verdict);
  if (!rendered) return '';
  return text(locale, 'discord.recording.refused', { reason: rendered.reason, advice: rendered.advice });
}

function localeOf(tag: string): Locale {
  return localeFrom(tag);
}

import type { ConsentGate, PlatformIdentity } from '../consent/consent-gate.ts';
import type { ConsentReceipt, ConsentRecord, SpeakerPolicy } from '../consent/consent-record.ts';
import type { ConsentOffer, ConsentService } from '../consent/consent-service.ts';
import type { ConsentLanguage } from '../consent/consent-texts.ts';
import type { AuditLedger } from '../consent/ledger.ts';
import type { ConsentVerifier } from '../consent/verification/consent-verifier.ts';
import type { VerificationRecord } from '../consent/verification/verification-record.ts';
import { ConsentDeniedError } from '../consent/consent-errors.ts';
import { readingScript, type ReadingScript } from '../consent/reading-script.ts';
import type { DeletionReceipt, Revocation, RevocationActor } from '../consent/revocation.ts';
import type { BackendInfo, SampleSource } from '../engine/backend.ts';
import type { PcmChunk } from '../engine/pcm.ts';
import type { BackendRegistry } from '../engine/registry.ts';
import type { Clock } from '../storage/ids.ts';
import type { JobHistory, JobRecord } from '../storage/job-history.ts';
import type { SampleClipIndex } from '../storage/sample-clips.ts';
import type { UserDirectory, UserRef } from '../storage/user-directory.ts';
import type { VoiceCatalog, VoiceRecord } from '../storage/voice-catalog.ts';
import type { FineTuneLifecycle } from './finetune-lifecycle.ts';
import type { MarkCheck, MarkChecker } from './mark-check.ts';
import type { ClipAudioStore, CloneQueue, DataKeyIssuer, SpeechSynthesis, VoiceFileAccess, VoicePreparation } from './ports.ts';
import type { ClipVerdict, SampleIntake } from './sample-intake.ts';
import { isUserFacingError, VocalisError } from './user-facing-error.ts';
import type { SqlDatabase } from '../storage/sql-database.ts';

const JOB_WATCH_MS = 1000;

export interface VocalisDeps {
  readonly db: SqlDatabase;
  readonly clock: Clock;
  readonly users: UserDirectory;
  readonly consents: ConsentService;
  readonly gate: ConsentGate;
  readonly ledger: AuditLedger;
  readonly keys: DataKeyIssuer;
  readonly clips: SampleClipIndex;
  readonly clipAudio: ClipAudioStore;
  readonly voices: VoiceCatalog;
  readonly voiceFiles: VoiceFileAccess;
  readonly jobs: JobHistory;
  readonly backends: BackendRegistry;
  /** In-process synthesis or engine nodes on other hosts (src/app decides). */
  readonly speech: SpeechSynthesis;
  /** Prepares preview voices from the sample: in process, or on the voice's engine node. */
  readonly preparation: VoicePreparation;
  /** Where the fine-tune queue reports a run's place in line. */
  readonly queue: Pick<CloneQueue, 'position'>;
  /** Queues fine-tunes and records everything that happens to them. */
  readonly lifecycle: FineTuneLifecycle;
  readonly revocation: Revocation;
  readonly intake: SampleIntake;
  /** Consent verification: the statement reading and every clip's speaker (src/consent/verification). */
  readonly verifier: ConsentVerifier;
  /** Finds this deployment's audio mark: `/verify`, and refusing synthetic clips as samples. */
  readonly marks: MarkChecker;
}

/** Where a request happens: the platform and the guild/chat (or `*`, e.g. the CLI). */
export interface RequestContext {
  readonly platform: string;
  readonly contextId: string;
}

export type ClipOutcome =
  | { readonly kind: 'refused'; readonly verdict: ClipVerdict }
  | {
      readonly kind: 'stored';
      readonly clipId: string;
      readonly verdict: ClipVerdict;
      readonly complete: boolean;
      readonly clone?: CloneStarted;
      /** Why the fine-tune could not be queued (e.g. `clone_in_progress`), when it could not. */
      readonly cloneError?: string;
    };

export interface CloneStarted {
  readonly voiceId: string;
  readonly jobId: string;
  /** Place in the waiting line (0: already running), when the queue knows it. */
  readonly position: number | null;
  /** Rough time until the voice is ready: recent fine-tunes of this backend × jobs ahead; null without history. */
  readonly etaSeconds: number | null;
}

/** The receipt of a consent just given, with what the person now reads aloud (adapters only render it). */
export interface AcceptedConsent extends ConsentReceipt {
  readonly challenge: string;
  readonly script: ReadingScript;
}

export interface VoiceStatus {
  readonly user: UserRef;
  readonly consent: ConsentRecord | null;
  /** The live consent's reading script (the statement with its challenge first), once there is a consent. */
  readonly script: ReadingScript | null;
  /** What consent verification proved for this consent (the receipt's evidence), if it was given. */
  readonly verification: VerificationRecord | null;
  readonly sample: { readonly clips: number; readonly speechSeconds: number; readonly targetSeconds: number };
  readonly voice: VoiceRecord | null;
  readonly job: JobRecord | null;
}

export interface SpeakRequest {
  readonly requester: PlatformIdentity;
  /** Whose voice; defaults to the requester's own. */
  readonly owner?: PlatformIdentity;
  readonly context: RequestContext;
  readonly text: string;
  readonly language?: string;
  readonly speed?: number;
  readonly variability?: number;
  readonly signal?: AbortSignal;
}

export interface SpeechStream {
  readonly owner: UserRef;
  readonly voice: VoiceRecord;
  /** Consume it to the end or call `return()` on its iterator: that releases the consent ticket. */
  readonly audio: AsyncIterable<PcmChunk>;
  /** Aborted the moment the consent behind this speech ends (in this process at once, elsewhere within 250 ms). */
  readonly consentEnded: AbortSignal;
}

/**
 * The platform-agnostic core: the consent, clone and speak flows, written once.
 * Bots and the CLI translate their platform's events into these calls and the
 * results back into messages; they change nothing except through this class
 * (docs/ARCHITECTURE.md, "Rules between parts", lists what else they may import).
 */
export class Vocalis {
  readonly #d: VocalisDeps;

  constructor(deps: VocalisDeps) {
    this.#d = deps;
  }

  get backends(): BackendRegistry {
    return this.#d.backends;
  }

  /** Syntheses streaming in this process now: how loaded the shared CPU is, for playback lead. */
  get activeSpeechStreams(): number {
    return this.#d.speech.activeStreams;
  }

  identify(identity: PlatformIdentity): UserRef {
    return this.#d.users.resolve(identity.platform, identity.platformUserId);
  }

  /** Step 1 of a clone: show the consent notice, challenge and reading script. Nothing is recorded yet. */
  offerConsent(input: { identity: PlatformIdentity; language: ConsentLanguage; context: RequestContext; speakers?: SpeakerPolicy }): ConsentOffer {
    const user = this.identify(input.identity);
    return this.#d.consents.offer({
      userId: user.id,
      language: input.language,
      scope: { platform: input.context.platform, context: input.context.contextId, speakers: input.speakers ?? { mode: 'owner' } },
      actor: userActor(input.identity),
    });
  }

  /** Step 2: the person agreed. Their data key is created now, before any audio of theirs exists. */
  acceptConsent(input: { identity: PlatformIdentity; consentId: string }): AcceptedConsent {
    const user = this.identify(input.identity);
    const consent = this.#d.consents.store.get(input.consentId);
    if (!consent || consent.userId !== user.id) throw new VocalisError('not_your_consent', 'this consent belongs to someone else');
    const receipt = this.#d.consents.accept(input.consentId, userActor(input.identity));
    this.#d.keys.issue(user.id);
    return { ...receipt, challenge: consent.challenge, script: readingScript(consent.language, consent.challenge) };
  }

  declineConsent(input: { identity: PlatformIdentity; consentId: string }): void {
    const user = this.identify(input.identity);
    const consent = this.#d.consents.store.get(input.consentId);
    if (!consent || consent.userId !== user.id) throw new VocalisError('not_your_consent', 'this consent belongs to someone else');
    this.#d.consents.decline(input.consentId, userActor(input.identity));
  }

  status(identity: PlatformIdentity): VoiceStatus {
    const user = this.identify(identity);
    const consent = this.#d.consents.store.live(user.id);
    const voice = consent ? this.#d.voices.forConsent(consent.id) : null;
    const totals = consent ? this.#d.clips.totals(consent.id) : { clips: 0, speechSeconds: 0 };
    const job = voice ? (this.#d.jobs.list({ userId: user.id, limit: 1 })[0] ?? null) : null;
    const backend = this.#d.backends.get(voice?.backend).info;
    const verification = consent ? this.#d.verifier.record(consent.id) : null;
    const script = consent ? readingScript(consent.language, consent.challenge) : null;
    return {
      user,
      consent,
      script,
      verification,
      sample: { clips: totals.clips, speechSeconds: totals.speechSeconds, targetSeconds: backend.targetSpeechSeconds },
      voice,
      job,
    };
  }

  /**
   * Adds one recording to the sample. A clip with a quality problem is refused and not
   * kept; the verdict says why and what to do. When the sample reaches its target the
   * consent moves on, a preview voice is prepared, and (by default) the fine-tune is queued.
   */
  async addClip(input: {
    identity: PlatformIdentity;
    audio: Uint8Array;
    backend?: string;
    cloneWhenComplete?: boolean;
    signal?: AbortSignal;
  }): Promise<ClipOutcome> {
    const d = this.#d;
    const user = this.identify(input.identity);
    const ticket = d.gate.authorize({ purpose: 'record', userId: user.id });
    try {
      const backend = d.backends.get(input.backend);
      const consentId = ticket.consentId;
      // A complete sample stays complete: an extra clip is never re-judged with the whole sample,
      // and while its fine-tune is queued or running it changes nothing, so it is refused before any audio work.
      const alreadyComplete = d.consents.store.get(consentId)?.state === 'sample_collected';
      if (alreadyComplete && this.#fineTuneRunning(user.id, consentId)) {
        throw new VocalisError('sample_complete', 'the sample is complete and its fine-tune is queued or running');
      }
      const before = d.clips.totals(consentId);
      const clip = await d.intake.analyseClip(input.audio, backend.info, before.speechSeconds, input.signal);
      if (!clip.accepted) return { kind: 'refused', verdict: clip.verdict };
      // A voice made here cannot be cloned again: a marked clip is refused before anything of it is kept.
      if (d.marks.isMarked(clip.pcm)) throw new VocalisError('marked_sample', "the clip carries this deployment's audio mark");
      // The reading of the statement first, then only its speaker: decided inside consent, before anything is kept.
      const granted = d.consents.store.get(consentId);
      if (!granted) throw new ConsentDeniedError('no_consent', 'the consent ended');
      const check = await d.verifier.check(granted, clip.pcm, userActor(input.identity), input.signal);
      if (check.status === 'refused') {
        if (check.endsConsent) await d.revocation.revoke(user.id, { kind: 'system' }, 'clips from another voice than the consent reading', 'expired');
        return {
          kind: 'refused',
          verdict: {
            accepted: false,
            netSpeechSeconds: before.speechSeconds,
            targetSpeechSeconds: backend.info.targetSpeechSeconds,
            problems: [check.problem],
          },
        };
      }
      ticket.check();
      const clipId = d.clips.newClipId();
      await d.clipAudio.write(user.id, clipId, clip.pcm);
      ticket.check();
      d.clips.insert({
        id: clipId,
        consentId,
        userId: user.id,
        durationSeconds: clip.durationSeconds,
        speechSeconds: clip.speechSeconds,
        sourceRate: clip.sourceRate,
      });
      d.ledger.append({
        type: 'sample.clip_added',
        actor: userActor(input.identity),
        subject: user.id,
        data: { consentId, clipId, speechSeconds: round(clip.speechSeconds) },
      });
      await d.verifier.commit(granted, check, clipId, clip.pcm);

      // Judging the whole sample means decrypting and analysing every clip: only once it can pass.
      if (!clip.verdict.accepted) return { kind: 'stored', clipId, verdict: clip.verdict, complete: false };
      const verdict = alreadyComplete ? clip.verdict : await d.intake.judgeSample(await this.#loadClips(user.id, consentId), backend.info);
      if (!verdict.accepted) return { kind: 'stored', clipId, verdict, complete: false };

      const consent = d.consents.store.get(consentId);
      if (consent?.state === 'granted') {
        d.consents.sampleCollected(consentId);
        await this.#preparePreview(user.id, consentId, backend.info.name, input.signal);
      }
      if (input.cloneWhenComplete === false) return { kind: 'stored', clipId, verdict, complete: true };
      try {
        const clone = await this.startClone({ identity: input.identity, backend: backend.info.name });
        return { kind: 'stored', clipId, verdict, complete: true, clone };
      } catch (error) {
        // The clip is kept either way; the user learns why training did not start.
        if (!isUserFacingError(error)) throw error;
        return { kind: 'stored', clipId, verdict, complete: true, cloneError: error.code };
      }
    } finally {
      ticket.release();
    }
  }

  /** Queues the fine-tune. At most one runs per voice; a second request is refused with `clone_in_progress`. */
  async startClone(input: { identity: PlatformIdentity; backend?: string }): Promise<CloneStarted> {
    const d = this.#d;
    const user = this.identify(input.identity);
    const ticket = d.gate.authorize({ purpose: 'train', userId: user.id });
    try {
      const backend = d.backends.get(input.backend).info.name;
      const voice = d.voices.ensure(user.id, ticket.consentId, backend);
      const active = d.lifecycle.inFlight(user.id, voice.id);
      if (active) throw new VocalisError('clone_in_progress', 'a fine-tune for this voice is already queued or running', { jobId: active.id });
      const jobId = await d.lifecycle.enqueue({ voice, userId: user.id, backend, actor: userActor(input.identity) });
      const position = await d.queue.position(voice.id);
      const typical = d.jobs.typicalDurationSeconds(backend);
      const etaSeconds = typical === null ? null : Math.round(typical * ((position ?? 0) + 1));
      return { voiceId: voice.id, jobId, position, etaSeconds };
    } finally {
      ticket.release();
    }
  }

  /**
   * Starts synthesis with the owner's voice. The consent gate is asked now (who, where,
   * what text) and again before every chunk; the stream ends when consent ends.
   */
  speak(request: SpeakRequest): SpeechStream {
    const d = this.#d;
    const ownerIdentity = request.owner ?? request.requester;
    const owner = d.users.find(ownerIdentity.platform, ownerIdentity.platformUserId);
    if (!owner) throw new VocalisError('no_voice', 'this person has no voice here');
    const text = request.text.trim();
    if (text.length === 0) throw new VocalisError('empty_text', 'there is no text to speak');
    const ticket = d.gate.authorize({ purpose: 'speak', ownerUserId: owner.id, requester: request.requester, context: request.context, text });
    try {
      const voice = d.voices.forConsent(ticket.consentId);
      if (!voice || voice.currentVersion === null) throw new VocalisError('no_voice', 'the voice is not ready yet');
      const consent = d.consents.store.get(ticket.consentId);
      const audio = d.speech.stream(
        { userId: owner.id, voiceId: voice.id, version: voice.currentVersion, backend: voice.backend },
        {
          text,
          language: request.language ?? consent?.language ?? 'en',
          speed: request.speed ?? 1,
          variability: request.variability ?? 0.5,
          ...(request.signal ? { signal: request.signal } : {}),
        },
        ticket,
        { requester: request.requester, context: request.context },
      );
      ticket.watch();
      return { owner, voice, audio, consentEnded: ticket.signal };
    } catch (error) {
      ticket.release();
      throw error;
    }
  }

  /** Whether a clip carries this deployment's mark, and whose voice and when if it still can say. */
  checkMark(audio: Uint8Array, signal?: AbortSignal): Promise<MarkCheck> {
    return this.#d.marks.check(audio, signal);
  }

  /** The same check on audio already decoded (a player's PCM, decoded Opus frames). */
  checkMarkInPcm(pcm: PcmChunk): MarkCheck {
    return this.#d.marks.explain(this.#d.marks.find(pcm));
  }

  /** Revokes and deletes everything derived from the voice. See Revocation for the order. */
  async revoke(input: { target: PlatformIdentity; actor: RevocationActor; reason?: string }): Promise<DeletionReceipt> {
    const user = this.#d.users.find(input.target.platform, input.target.platformUserId);
    if (!user) throw new VocalisError('no_consent', 'there is no active consent to revoke');
    return this.#d.revocation.revoke(user.id, input.actor, input.reason ?? 'revoked on request');
  }

  setVoiceOptions(input: { identity: PlatformIdentity; banked?: boolean; keepRaw?: boolean; speakers?: SpeakerPolicy }): ConsentRecord {
    const user = this.identify(input.identity);
    const consent = this.#d.consents.store.live(user.id);
    if (!consent) throw new VocalisError('no_consent', 'there is no active consent');
    return this.#d.consents.setOptions(
      consent.id,
      {
        ...(input.banked === undefined ? {} : { banked: input.banked }),
        ...(input.keepRaw === undefined ? {} : { keepRaw: input.keepRaw }),
        ...(input.speakers === undefined ? {} : { speakers: input.speakers }),
      },
      userActor(input.identity),
    );
  }

  /** Live consents given for one guild/chat, for its admins (`/consent list`). */
  listConsents(context: RequestContext): Array<{ user: UserRef; consent: ConsentRecord; voice: VoiceRecord | null }> {
    return this.#d.consents.store.listLive({ platform: context.platform, context: context.contextId }).flatMap((consent) => {
      const user = this.#d.users.get(consent.userId);
      return user ? [{ user, consent, voice: this.#d.voices.forConsent(consent.id) }] : [];
    });
  }

  /**
   * Follows a fine-tune job until it ends, calling `onUpdate` on every change of state or
   * progress. Reads the job history, so it works wherever the worker runs. Returns a stop function.
   */
  watchJob(jobId: string, onUpdate: (job: JobRecord) => void, intervalMs = JOB_WATCH_MS): () => void {
    let last = '';
    const timer = setInterval(() => {
      const job = this.#d.jobs.get(jobId);
      if (!job) return;
      const key = `${job.state}:${job.progress?.stage ?? ''}:${Math.round((job.progress?.fraction ?? 0) * 100)}`;
      if (key !== last) {
        last = key;
        onUpdate(job);
      }
      if (job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled') clearInterval(timer);
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The decrypted sample of a consent as backends see it (also the fine-tune worker's `ConsentSamples`). */
  sampleSource(userId: string, consentId: string): SampleSource {
    const consent = this.#d.consents.store.get(consentId);
    const script = consent ? readingScript(consent.language, consent.challenge) : null;
    return {
      script,
      read: async (sampleRate: number) => this.#d.intake.assemble(await this.#loadClips(userId, consentId), sampleRate),
    };
  }

  #fineTuneRunning(userId: string, consentId: string): boolean {
    const voice = this.#d.voices.forConsent(consentId);
    return voice !== null && this.#d.lifecycle.inFlight(userId, voice.id) !== undefined;
  }

  async #loadClips(userId: string, consentId: string): Promise<PcmChunk[]> {
    const clips = this.#d.clips.forConsent(consentId);
    return Promise.all(clips.map((clip) => this.#d.clipAudio.read(userId, clip.id)));
  }

  async #preparePreview(userId: string, consentId: string, backendName: string, signal?: AbortSignal): Promise<void> {
    const d = this.#d;
    const voice = d.voices.ensure(userId, consentId, backendName);
    const version = d.voices.nextVersion(voice.id);
    await d.voiceFiles.discard(userId, voice.id, version);
    try {
      const prepared = await d.preparation.prepare(
        { userId, consentId, voiceId: voice.id, version, backend: backendName },
        signal ?? new AbortController().signal,
      );
      if (prepared.zeroShot) {
        d.voices.publish(voice.id, version, 'preview', {});
        d.ledger.append({ type: 'voice.preview_ready', actor: 'system', subject: userId, data: { voiceId: voice.id, version } });
      } else {
        await d.voiceFiles.discard(userId, voice.id, version);
      }
    } catch (error) {
      await d.voiceFiles.discard(userId, voice.id, version);
      throw error;
    }
  }
}

export function userActor(identity: PlatformIdentity): string {
  return `user:${identity.platform}:${identity.platformUserId}`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

export type { BackendInfo };

import { transaction } from '../../storage/database.ts';
import type { Clock } from '../../storage/ids.ts';
import { decoyPhrases } from '../challenge.ts';
import type { ConsentRecord } from '../consent-record.ts';
import type { AuditLedger } from '../ledger.ts';
import { statementParts } from '../reading-script.ts';
import type { ConsentCheckProblem } from './consent-check-problem.ts';
import { judgeReading } from './reading-policy.ts';
import type { ClipMatch, VerificationMode, VerificationRecord, VerifiedReading } from './verification-record.ts';
import type { VerificationStore } from './verification-store.ts';
import { ASSURANCE_RANK, type AssuranceLevel, type ClipAudio, type EnrolmentVault, type HeardWord, type VoiceEvidence } from './voice-evidence.ts';
import type { SqlDatabase } from '../../storage/sql-database.ts';

export interface VerificationPolicy {
  readonly mode: VerificationMode;
  /** Speaker-match score at or above which a clip is the reader's (the model's scale). */
  readonly speakerThreshold: number;
  /** The weakest reading evidence this deployment accepts. */
  readonly minAssurance: AssuranceLevel;
  /** Clips from another voice that end the consent. */
  readonly maxMismatches: number;
}

/** Less voiced speech than this says too little about who is speaking. */
export const MIN_VERIFY_SECONDS = 1;
const DECOYS = 6;

/** What a clip proved; refusals carry the problem the user sees. Nothing of a refused clip is kept. */
export type ClipCheck =
  | { readonly status: 'unchecked' }
  | { readonly status: 'reading_heard'; readonly reading: VerifiedReading; readonly enrolment: Uint8Array }
  | { readonly status: 'speaker_matched'; readonly score: number; readonly speechSeconds: number; readonly enrolment: Uint8Array }
  | { readonly status: 'refused'; readonly problem: ConsentCheckProblem; readonly endsConsent: boolean };

/**
 * Consent you can verify. The first audio after "I agree" must be the consent statement
 * with this consent's challenge phrase, heard by the recogniser; its speaker becomes the
 * consent's voiceprint (stored encrypted under the user's data key). Every later clip must
 * match that voiceprint; a few clips from another voice end the consent. Evidence comes
 * through the VoiceEvidence port; the decisions and the records are made here.
 */
export class ConsentVerifier {
  readonly #db: SqlDatabase;
  readonly #store: VerificationStore;
  readonly #ledger: AuditLedger;
  readonly #evidence: VoiceEvidence;
  readonly #vault: EnrolmentVault;
  readonly #clock: Clock;
  readonly policy: VerificationPolicy;

  constructor(deps: {
    db: SqlDatabase;
    store: VerificationStore;
    ledger: AuditLedger;
    evidence: VoiceEvidence;
    vault: EnrolmentVault;
    clock: Clock;
    policy: VerificationPolicy;
  }) {
    this.#db = deps.db;
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#evidence = deps.evidence;
    this.#vault = deps.vault;
    this.#clock = deps.clock;
    this.policy = deps.policy;
  }

  record(consentId: string): VerificationRecord | null {
    return this.#store.get(consentId);
  }

  /** Judges one clip of a granted consent. Records only figures of a refusal (ledger), never audio. */
  async check(consent: ConsentRecord, audio: ClipAudio, actor: string, signal?: AbortSignal): Promise<ClipCheck> {
    const record = this.#recordOf(consent);
    if (record.status === 'off') return { status: 'unchecked' };
    if (record.status === 'awaiting_reading') return this.#checkReading(consent, audio, actor, signal);
    return this.#checkSpeaker(consent, record, audio, actor);
  }

  /** The clip was stored: keep what it proved (the voiceprint, encrypted; the figures, in SQLite and the ledger). */
  async commit(consent: ConsentRecord, check: ClipCheck, clipId: string, audio: ClipAudio): Promise<void> {
    const now = () => this.#clock().toISOString();
    if (check.status === 'reading_heard') {
      await this.#vault.write(consent.userId, consent.id, check.enrolment);
      transaction(this.#db, () => {
        this.#store.readingVerified(consent.id, check.reading, now());
        this.#ledger.append({
          type: 'consent.reading_verified',
          actor: 'system',
          subject: consent.userId,
          data: {
            consentId: consent.id,
            clipId,
            assurance: check.reading.assurance,
            method: check.reading.method,
            recognizer: check.reading.recognizerVersion,
            speakerModel: `${check.reading.speakerModel.name}@${check.reading.speakerModel.version}`,
            coverage: round(check.reading.coverage),
            wordsHeard: check.reading.words.length,
          },
        });
      });
    } else if (check.status === 'speaker_matched') {
      // The voiceprint grows with every verified clip: later short clips are judged against more of the voice.
      await this.#vault.write(consent.userId, consent.id, await this.#evidence.enrol(audio, check.enrolment));
      const match: ClipMatch = { clipId, score: round(check.score), threshold: this.policy.speakerThreshold, speechSeconds: round(check.speechSeconds) };
      transaction(this.#db, () => {
        this.#store.clipMatched(consent.id, match, now());
        this.#ledger.append({ type: 'consent.speaker_verified', actor: 'system', subject: consent.userId, data: { consentId: consent.id, ...match } });
      });
    }
  }

  #recordOf(consent: ConsentRecord): VerificationRecord {
    const existing = this.#store.get(consent.id);
    if (existing) return existing;
    // A consent given before verification existed is held to today's policy.
    this.#store.create(consent.id, consent.userId, this.policy.mode, this.#clock().toISOString());
    return this.#store.get(consent.id)!;
  }

  async #checkReading(consent: ConsentRecord, audio: ClipAudio, actor: string, signal?: AbortSignal): Promise<ClipCheck> {
    const parts = statementParts(consent.language, consent.challenge);
    const expected = [...parts.statement, ...parts.challenge];
    const heard = await this.#evidence.hearReading(audio, consent.language, expected, {
      decoys: decoyPhrases(consent.language, consent.challenge, DECOYS),
      ...(signal ? { signal } : {}),
    });
    const statementWords = heard.words.slice(0, parts.statement.length);
    const challengeWords = heard.words.slice(parts.statement.length);
    const judgement = judgeReading(statementWords, challengeWords);
    const at = this.#clock().toISOString();
    if (!judgement.accepted) {
      const failures = this.#store.readingFailed(consent.id, at);
      this.#ledger.append({
        type: 'consent.reading_failed',
        actor,
        subject: consent.userId,
        data: { consentId: consent.id, coverage: round(judgement.coverage), missing: judgement.missing.length, attempt: failures },
      });
      return {
        status: 'refused',
        endsConsent: false,
        problem: { code: 'reading_not_heard', figures: { coveragePercent: Math.round(judgement.coverage * 100) }, words: judgement.missing },
      };
    }
    if (ASSURANCE_RANK[heard.level] < ASSURANCE_RANK[this.policy.minAssurance]) {
      this.#ledger.append({
        type: 'consent.reading_failed',
        actor,
        subject: consent.userId,
        data: { consentId: consent.id, assurance: heard.level, required: this.policy.minAssurance },
      });
      return { status: 'refused', endsConsent: false, problem: { code: 'reading_assurance_too_low', figures: {} } };
    }
    const enrolment = await this.#evidence.enrol(audio);
    const probe = await this.#evidence.matchSpeaker(enrolment, audio);
    if (probe.speechSeconds < MIN_VERIFY_SECONDS) {
      return {
        status: 'refused',
        endsConsent: false,
        problem: { code: 'too_short_to_verify', figures: { speechSeconds: round(probe.speechSeconds), minSeconds: MIN_VERIFY_SECONDS } },
      };
    }
    return {
      status: 'reading_heard',
      enrolment,
      reading: {
        assurance: heard.level,
        method: heard.method,
        recognizerVersion: heard.modelVersion,
        coverage: round(judgement.coverage),
        words: heard.words.filter((w) => w.heard).map(timedWord),
        missing: judgement.missing,
        challenge: consent.challenge,
        speakerModel: this.#evidence.speakerModel,
        speechSeconds: round(probe.speechSeconds),
        at,
      },
    };
  }

  async #checkSpeaker(
    consent: ConsentRecord,
    record: Extract<VerificationRecord, { status: 'verified' }>,
    audio: ClipAudio,
    actor: string,
  ): Promise<ClipCheck> {
    const enrolment = await this.#vault.read(consent.userId, consent.id);
    if (!enrolment) throw new Error(`the voiceprint of consent ${consent.id} is missing`);
    const match = await this.#evidence.matchSpeaker(enrolment, audio);
    if (match.speechSeconds < MIN_VERIFY_SECONDS) {
      return {
        status: 'refused',
        endsConsent: false,
        problem: { code: 'too_short_to_verify', figures: { speechSeconds: round(match.speechSeconds), minSeconds: MIN_VERIFY_SECONDS } },
      };
    }
    if (match.score >= this.policy.speakerThreshold) return { status: 'speaker_matched', score: match.score, speechSeconds: match.speechSeconds, enrolment };
    const mismatches = this.#store.mismatched(record.consentId, this.#clock().toISOString());
    const limit = this.policy.maxMismatches;
    // Counted without audio: only the figures of the attempt.
    this.#ledger.append({
      type: 'consent.speaker_mismatch',
      actor,
      subject: consent.userId,
      data: { consentId: consent.id, score: round(match.score), threshold: this.policy.speakerThreshold, mismatches, limit },
    });
    if (mismatches >= limit) return { status: 'refused', endsConsent: true, problem: { code: 'speaker_mismatch_limit', figures: { limit } } };
    return { status: 'refused', endsConsent: false, problem: { code: 'speaker_mismatch', figures: { mismatches, limit } } };
  }
}

function timedWord(word: HeardWord) {
  return { word: word.word, start: word.start, end: word.end };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

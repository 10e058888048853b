import { transaction } from '../storage/database.ts';
import { newId, type Clock } from '../storage/ids.ts';
import type { ReadingScript } from './reading-script.ts';
import type { AuditLedger } from './ledger.ts';
import { createChallenge } from './challenge.ts';
import { ConsentError } from './consent-errors.ts';
import { receiptOf, type ConsentReceipt, type ConsentRecord, type ConsentScope, type SpeakerPolicy } from './consent-record.ts';
import { assertTransition, type ConsentState } from './consent-state.ts';
import type { ConsentStore } from './consent-store.ts';
import { consentText, type ConsentLanguage, type ConsentText } from './consent-texts.ts';
import { readingScript } from './reading-script.ts';
import type { VerificationMode } from './verification/verification-record.ts';
import { VerificationStore } from './verification/verification-store.ts';
import type { SqlDatabase } from '../storage/sql-database.ts';
import type { ConsentChanges } from './consent-changes.ts';

export interface ConsentPolicy {
  readonly offerMinutes: number;
  readonly rawSampleRetentionDays: number;
  readonly voiceInactivityDays: number;
  /** Consent verification for consents granted from now on; recorded in each receipt. */
  readonly verification: VerificationMode;
}

export interface ConsentOffer {
  readonly consent: ConsentRecord;
  readonly text: ConsentText;
  readonly script: ReadingScript;
}

/**
 * Every change to a consent goes through here, and each one is written to the
 * audit ledger in the same transaction: there is no consent change without a record.
 */
export class ConsentService {
  readonly #db: SqlDatabase;
  readonly #store: ConsentStore;
  readonly #ledger: AuditLedger;
  readonly #clock: Clock;
  readonly #policy: ConsentPolicy;
  readonly #verifications: VerificationStore;
  readonly #changes: ConsentChanges | null;

  constructor(deps: { db: SqlDatabase; store: ConsentStore; ledger: AuditLedger; clock: Clock; policy: ConsentPolicy; changes?: ConsentChanges }) {
    this.#db = deps.db;
    this.#changes = deps.changes ?? null;
    this.#store = deps.store;
    this.#verifications = new VerificationStore(deps.db);
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
    this.#policy = deps.policy;
  }

  get store(): ConsentStore {
    return this.#store;
  }

  /** Shows the notice: creates an `offered` consent with a fresh challenge. Nothing may be recorded yet. */
  offer(input: { userId: string; language: ConsentLanguage; scope: ConsentScope; actor: string }): ConsentOffer {
    return transaction(this.#db, () => {
      const live = this.#store.live(input.userId);
      if (live?.state === 'offered') this.#end(live, 'expired', 'replaced by a new offer', 'system');
      else if (live) throw new ConsentError('consent_exists', `user already has a consent in state ${live.state}`, { state: live.state });
      const now = this.#clock();
      const text = consentText(input.language, this.#textParams(input.scope.speakers, input.language));
      const record: ConsentRecord = {
        id: newId('c'),
        userId: input.userId,
        state: 'offered',
        textId: text.id,
        textSha256: text.sha256,
        language: input.language,
        scope: input.scope,
        challenge: createChallenge(input.language),
        createdBy: input.actor,
        createdAt: now.toISOString(),
        offerExpiresAt: new Date(now.getTime() + this.#policy.offerMinutes * 60_000).toISOString(),
        grantedAt: null,
        voiceReadyAt: null,
        lastUsedAt: null,
        banked: false,
        keepRaw: false,
        endedAt: null,
        endReason: null,
      };
      this.#store.insert(record);
      this.#ledger.append({
        type: 'consent.offered',
        actor: input.actor,
        subject: input.userId,
        data: { consentId: record.id, textId: text.id, textSha256: text.sha256 },
      });
      return { consent: record, text, script: readingScript(input.language, record.challenge) };
    });
  }

  /** The user agreed: `offered` → `granted`. Returns the receipt they keep. */
  accept(consentId: string, actor: string): ConsentReceipt {
    const pending = this.#require(consentId);
    if (pending.state === 'offered' && this.#clock().toISOString() > pending.offerExpiresAt) {
      // Recorded before refusing, so the ledger shows why the grant did not happen.
      transaction(this.#db, () => this.#end(pending, 'expired', 'offer timed out', 'system'));
      throw new ConsentError('offer_expired', 'the consent offer expired; start again');
    }
    return transaction(this.#db, () => {
      const consent = this.#require(consentId);
      const grantedAt = this.#clock().toISOString();
      const verification = this.#policy.verification;
      this.#move(consent, 'granted', { grantedAt });
      // The verification mode is part of what was agreed under: written with the grant, never changed after.
      this.#verifications.create(consentId, consent.userId, verification, grantedAt);
      this.#ledger.append({
        type: 'consent.granted',
        actor,
        subject: consent.userId,
        data: {
          consentId,
          textId: consent.textId,
          textSha256: consent.textSha256,
          platform: consent.scope.platform,
          context: consent.scope.context,
          speakers: consent.scope.speakers.mode,
          verification,
        },
      });
      return receiptOf(this.#require(consentId), verification);
    });
  }

  decline(consentId: string, actor: string): void {
    transaction(this.#db, () => this.#end(this.#require(consentId), 'declined', 'declined by the user', actor));
  }

  /** `granted` → `sample_collected` once the sample is accepted (idempotent). */
  sampleCollected(consentId: string): void {
    this.#advance(consentId, 'sample_collected', 'consent.sample_collected');
  }

  voiceReady(consentId: string): void {
    this.#advance(consentId, 'voice_ready', 'consent.voice_ready', { voiceReadyAt: this.#clock().toISOString() });
  }

  /** Ends a live consent as revoked or expired. The caller (revocation) deletes what it covered. */
  end(consentId: string, state: 'revoked' | 'expired', reason: string, actor: string): ConsentRecord {
    return transaction(this.#db, () => {
      const consent = this.#require(consentId);
      this.#end(consent, state, reason, actor);
      return this.#require(consentId);
    });
  }

  setOptions(consentId: string, options: { banked?: boolean; keepRaw?: boolean; speakers?: SpeakerPolicy }, actor: string): ConsentRecord {
    return transaction(this.#db, () => {
      const consent = this.#require(consentId);
      this.#store.setOptions(consentId, options, this.#clock().toISOString());
      this.#announce(consent.userId);
      this.#ledger.append({
        type: 'consent.options_changed',
        actor,
        subject: consent.userId,
        data: {
          consentId,
          ...(options.banked === undefined ? {} : { banked: options.banked }),
          ...(options.keepRaw === undefined ? {} : { keepRaw: options.keepRaw }),
          ...(options.speakers === undefined
            ? {}
            : { speakers: options.speakers.mode, listed: options.speakers.mode === 'listed' ? options.speakers.platformUserIds.length : 0 }),
        },
      });
      return this.#require(consentId);
    });
  }

  touch(consentId: string): void {
    this.#store.touch(consentId, this.#clock().toISOString());
  }

  #textParams(speakers: SpeakerPolicy, language: ConsentLanguage) {
    const who = {
      owner: { en: 'only you', zh: '只有你本人' },
      listed: { en: 'you and the people you share it with', zh: '你本人和你分享给的人' },
      context: { en: 'you and members of this community', zh: '你本人和本社区的成员' },
    }[speakers.mode][language];
    return { rawSampleRetentionDays: this.#policy.rawSampleRetentionDays, voiceInactivityDays: this.#policy.voiceInactivityDays, speakers: who };
  }

  #advance(consentId: string, to: ConsentState, eventType: string, extra: { voiceReadyAt?: string } = {}): void {
    transaction(this.#db, () => {
      const consent = this.#require(consentId);
      if (consent.state === to) return;
      this.#move(consent, to, extra);
      this.#ledger.append({ type: eventType, actor: 'system', subject: consent.userId, data: { consentId } });
    });
  }

  #move(consent: ConsentRecord, to: ConsentState, extra: { grantedAt?: string; voiceReadyAt?: string; endReason?: string } = {}): void {
    assertTransition(consent.state, to);
    this.#store.setState(consent.id, to, this.#clock().toISOString(), extra);
    this.#announce(consent.userId);
  }

  /** Every gate holding a ticket for the user re-reads the consent once this change is committed. */
  #announce(userId: string): void {
    const changes = this.#changes;
    if (changes) this.#db.afterCommit(() => changes.announce(userId));
  }

  #end(consent: ConsentRecord, to: 'revoked' | 'expired' | 'declined', reason: string, actor: string): void {
    this.#move(consent, to, { endReason: reason });
    this.#ledger.append({ type: `consent.${to}`, actor, subject: consent.userId, data: { consentId: consent.id, reason } });
  }

  #require(consentId: string): ConsentRecord {
    const consent = this.#store.get(consentId);
    if (!consent) throw new ConsentError('unknown_consent', `no consent ${consentId}`);
    return consent;
  }
}

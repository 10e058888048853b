import type { Clock } from '../storage/ids.ts';
import type { UserDirectory } from '../storage/user-directory.ts';
import { ConsentDeniedError } from './consent-errors.ts';
import type { ConsentChanges } from './consent-changes.ts';
import type { ConsentRecord } from './consent-record.ts';
import type { ConsentState } from './consent-state.ts';
import type { ConsentStore } from './consent-store.ts';
import { checkSpeakableText } from './text-guard.ts';

/**
 * THE consent gate. Every recording, every training and every synthesis asks it
 * first, and holds the ticket it gets for as long as the work runs: the ticket is
 * re-checked while audio streams and aborted at once when the consent ends.
 */
export interface PlatformIdentity {
  readonly platform: string;
  readonly platformUserId: string;
}

export type GateRequest =
  | { readonly purpose: 'record'; readonly userId: string }
  | { readonly purpose: 'train'; readonly userId: string }
  | {
      readonly purpose: 'speak';
      readonly ownerUserId: string;
      readonly requester: PlatformIdentity;
      /** Where the audio will be heard: platform and guild/chat id. */
      readonly context: { readonly platform: string; readonly contextId: string };
      readonly text: string;
    };

const ALLOWED_STATES: Readonly<Record<GateRequest['purpose'], readonly ConsentState[]>> = {
  record: ['granted', 'sample_collected'],
  train: ['sample_collected', 'voice_ready'],
  speak: ['sample_collected', 'voice_ready'],
};

/** How often a held ticket re-reads the consent: revocation from another process lands within this. */
export const DEFAULT_WATCH_MS = 250;

export interface ConsentGateDeps {
  readonly store: ConsentStore;
  readonly users: UserDirectory;
  readonly clock: Clock;
  /** Announced consent changes: held tickets of that user re-read the consent at once. */
  readonly changes?: ConsentChanges;
  /**
   * The per-chunk check answers from the ticket's last reading until a change to the user's
   * consent is announced (or the watch timer re-reads). For a database across the network
   * (PostgreSQL), where a read per chunk would cost a round trip; SQLite re-reads every time.
   */
  readonly cachedChecks?: boolean;
}

export class ConsentGate {
  readonly #store: ConsentStore;
  readonly #users: UserDirectory;
  readonly #clock: Clock;
  readonly #cachedChecks: boolean;
  readonly #tickets = new Set<ConsentTicket>();

  constructor(deps: ConsentGateDeps) {
    this.#store = deps.store;
    this.#users = deps.users;
    this.#clock = deps.clock;
    this.#cachedChecks = deps.cachedChecks ?? false;
    deps.changes?.subscribe((userId) => this.#consentChanged(userId));
  }

  authorize(request: GateRequest): ConsentTicket {
    const userId = request.purpose === 'speak' ? request.ownerUserId : request.userId;
    const consent = this.#evaluate(request, userId);
    if (request.purpose === 'speak') {
      const verdict = checkSpeakableText(request.text, this.#store.liveChallenges());
      if (!verdict.ok) throw new ConsentDeniedError('forbidden_text', `text refused: it repeats a ${verdict.reason.replace('_', ' ')}`);
      this.#store.touch(consent.id, this.#clock().toISOString());
    }
    const ticket = new ConsentTicket(
      consent,
      request.purpose,
      () => this.#evaluate(request, userId),
      (t) => this.#tickets.delete(t),
      this.#cachedChecks,
    );
    this.#tickets.add(ticket);
    return ticket;
  }

  /** Aborts every ticket held for a user in this process, now. */
  abortAll(userId: string, reason: string): number {
    let count = 0;
    for (const ticket of this.#tickets) {
      if (ticket.userId === userId) {
        ticket.abort(new ConsentDeniedError('no_consent', reason));
        count++;
      }
    }
    return count;
  }

  get activeTickets(): number {
    return this.#tickets.size;
  }

  /** A committed change to the user's consent (here or in another process): re-read it for every held ticket now. */
  #consentChanged(userId: string): void {
    for (const ticket of [...this.#tickets]) {
      if (ticket.userId === userId) ticket.consentChanged();
    }
  }

  #evaluate(request: GateRequest, userId: string): ConsentRecord {
    const consent = this.#store.live(userId);
    if (!consent) throw new ConsentDeniedError('no_consent', 'no active consent for this voice');
    if (consent.state === 'offered') throw new ConsentDeniedError('offer_pending', 'consent has been offered but not given');
    if (!ALLOWED_STATES[request.purpose].includes(consent.state)) {
      throw new ConsentDeniedError('not_ready', `consent is ${consent.state}; ${request.purpose} needs ${ALLOWED_STATES[request.purpose].join(' or ')}`);
    }
    if (request.purpose !== 'record') this.#checkVerified(consent);
    if (request.purpose === 'speak') this.#checkSpeaker(consent, request.requester, request.context);
    return consent;
  }

  /** Under required verification nothing is trained or spoken until the statement reading was verified. */
  #checkVerified(consent: ConsentRecord): void {
    const verification = this.#store.verificationState(consent.id);
    if (verification?.mode === 'required' && verification.status !== 'verified') {
      throw new ConsentDeniedError('not_verified', 'the consent statement reading has not been verified');
    }
  }

  #checkSpeaker(consent: ConsentRecord, requester: PlatformIdentity, context: { platform: string; contextId: string }): void {
    const { scope } = consent;
    if (context.platform !== scope.platform || (scope.context !== '*' && scope.context !== context.contextId)) {
      throw new ConsentDeniedError('out_of_scope', 'this voice may not be used here');
    }
    const owner = this.#users.get(consent.userId);
    if (!owner) throw new ConsentDeniedError('unknown_user', 'the voice owner is unknown');
    const isOwner = owner.platform === requester.platform && owner.platformUserId === requester.platformUserId;
    if (isOwner) return;
    const allowed =
      scope.speakers.mode === 'context' ||
      (scope.speakers.mode === 'listed' && requester.platform === owner.platform && scope.speakers.platformUserIds.includes(requester.platformUserId));
    if (!allowed) throw new ConsentDeniedError('not_allowed_speaker', 'the owner has not shared this voice with you');
  }
}

export class ConsentTicket {
  readonly consentId: string;
  readonly userId: string;
  readonly purpose: GateRequest['purpose'];
  readonly #controller = new AbortController();
  readonly #recheck: () => ConsentRecord;
  readonly #onRelease: (ticket: ConsentTicket) => void;
  readonly #cached: boolean;
  /** The last reading allowed the work and no change to the consent was announced since. */
  #fresh = true;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    consent: ConsentRecord,
    purpose: GateRequest['purpose'],
    recheck: () => ConsentRecord,
    onRelease: (ticket: ConsentTicket) => void,
    cached = false,
  ) {
    this.consentId = consent.id;
    this.userId = consent.userId;
    this.purpose = purpose;
    this.#recheck = recheck;
    this.#onRelease = onRelease;
    this.#cached = cached;
  }

  /** Aborted when the consent ends: pass it to everything doing work under this consent. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Throws (and aborts the ticket) if the consent no longer allows the work. Re-reads it, or with
   * cached checks answers from the last reading while no change to it was announced.
   */
  check(): void {
    if (this.#controller.signal.aborted) throw this.#controller.signal.reason;
    if (this.#cached && this.#fresh) return;
    this.#reread();
  }

  /** A change to this consent was committed: read it again now. */
  consentChanged(): void {
    this.#fresh = false;
    if (this.#controller.signal.aborted) return;
    try {
      this.#reread();
    } catch {
      // #reread aborted the ticket; the work sees it through the signal or its next check.
    }
  }

  #reread(): void {
    try {
      const consent = this.#recheck();
      if (consent.id !== this.consentId) throw new ConsentDeniedError('no_consent', 'the consent this work started under has ended');
      this.#fresh = true;
    } catch (error) {
      this.#fresh = false;
      this.abort(error);
      throw error;
    }
  }

  /** Re-checks on a timer while work runs, so a revocation in another process stops it too. */
  watch(intervalMs = DEFAULT_WATCH_MS): this {
    if (this.#timer || this.#controller.signal.aborted) return this;
    this.#timer = setInterval(() => {
      if (this.#controller.signal.aborted) return;
      try {
        // Always from the store: the backstop for an announcement that never arrived.
        this.#reread();
      } catch {
        // check() aborted the ticket; the work sees it through the signal.
      }
    }, intervalMs);
    this.#timer.unref();
    return this;
  }

  abort(reason: unknown): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
    this.release();
  }

  release(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#onRelease(this);
  }
}

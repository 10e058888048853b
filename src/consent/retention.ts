import type { Clock } from '../storage/ids.ts';
import type { SampleClipIndex } from '../storage/sample-clips.ts';
import type { AuditLedger } from './ledger.ts';
import type { ConsentStore } from './consent-store.ts';
import type { Revocation } from './revocation.ts';

export interface RetentionPolicy {
  /** Raw sample audio is deleted this long after the voice is ready, unless the owner keeps it. */
  readonly rawSampleDays: number;
  /** A voice unused this long expires with its consent, unless the owner banked it. */
  readonly voiceInactivityDays: number;
}

export interface RetentionReport {
  readonly offersExpired: number;
  readonly rawSamplesDeleted: number;
  readonly voicesExpired: number;
  /** File erasures of earlier revocations that had failed, finished now (see `Revocation.finishIncompleteErasures`). */
  readonly erasuresFinished: number;
}

const DAY_MS = 86_400_000;

export interface RetentionDeps {
  readonly store: ConsentStore;
  readonly clips: SampleClipIndex;
  readonly deleteClipFiles: (userId: string, clipIds: readonly string[]) => Promise<void>;
  readonly revocation: Revocation;
  readonly ledger: AuditLedger;
  readonly clock: Clock;
  readonly policy: RetentionPolicy;
}

/** Applies the retention rules. Runs on a timer in the service; the clock is injectable for tests. */
export class RetentionSweeper {
  readonly #deps: RetentionDeps;

  constructor(deps: RetentionDeps) {
    this.#deps = deps;
  }

  async sweep(): Promise<RetentionReport> {
    const { store, clips, revocation, ledger, clock, policy } = this.#deps;
    const now = clock().getTime();
    let offersExpired = 0;
    let rawSamplesDeleted = 0;
    let voicesExpired = 0;
    for (const consent of store.listLive()) {
      if (consent.state === 'offered') {
        if (Date.parse(consent.offerExpiresAt) <= now) {
          await revocation.revoke(consent.userId, { kind: 'system' }, 'consent offer timed out', 'expired');
          offersExpired++;
        }
        continue;
      }
      const lastUse = Date.parse(consent.lastUsedAt ?? consent.voiceReadyAt ?? consent.grantedAt ?? consent.createdAt);
      if (!consent.banked && now - lastUse >= policy.voiceInactivityDays * DAY_MS) {
        await revocation.revoke(consent.userId, { kind: 'system' }, `voice unused for ${policy.voiceInactivityDays} days`, 'expired');
        voicesExpired++;
        continue;
      }
      if (
        consent.state === 'voice_ready' &&
        !consent.keepRaw &&
        consent.voiceReadyAt &&
        now - Date.parse(consent.voiceReadyAt) >= policy.rawSampleDays * DAY_MS
      ) {
        const ids = clips.forConsent(consent.id).map((c) => c.id);
        if (ids.length === 0) continue;
        await this.#deps.deleteClipFiles(consent.userId, ids);
        clips.deleteForConsent(consent.id);
        ledger.append({ type: 'retention.raw_sample_deleted', actor: 'system', subject: consent.userId, data: { consentId: consent.id, clips: ids.length } });
        rawSamplesDeleted++;
      }
    }
    const erasuresFinished = await revocation.finishIncompleteErasures();
    return { offersExpired, rawSamplesDeleted, voicesExpired, erasuresFinished };
  }
}

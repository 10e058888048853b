import { transaction } from '../storage/database.ts';
import type { Clock } from '../storage/ids.ts';
import type { JobHistory } from '../storage/job-history.ts';
import type { SampleClipIndex } from '../storage/sample-clips.ts';
import type { VoiceCatalog } from '../storage/voice-catalog.ts';
import type { UserDirectory } from '../storage/user-directory.ts';
import { ConsentError } from './consent-errors.ts';
import type { ConsentGate } from './consent-gate.ts';
import type { ConsentRecord } from './consent-record.ts';
import type { ConsentService } from './consent-service.ts';
import type { AuditLedger } from './ledger.ts';
import { StorageError } from '../storage/storage-error.ts';
import type { ErasedFiles } from '../storage/user-erasure.ts';
import type { SqlDatabase } from '../storage/sql-database.ts';

/** Who asks for a revocation decides what they may revoke. */
export type RevocationActor =
  | { readonly kind: 'user'; readonly platform: string; readonly platformUserId: string }
  | { readonly kind: 'admin'; readonly platform: string; readonly context: string; readonly platformUserId: string }
  | { readonly kind: 'operator' }
  | { readonly kind: 'system' };

/** The parts outside SQLite that hold something derived from a voice. */
export interface ErasureHooks {
  /** Cancels queued and running jobs for these voices and purges their payloads from the queue. */
  cancelJobs(voiceIds: readonly string[]): Promise<void>;
  /** Drops loaded models from every in-process cache. */
  evictVoices(voiceIds: readonly string[]): void;
  /**
   * Deletes every stored file of the user (data directory or object store) and proves it by
   * listing the user's prefix afterwards; throws when that listing is not empty.
   */
  eraseFiles(userId: string): Promise<ErasedFiles>;
}

/** A failed or unproven file erasure is tried this many times, waiting ERASE_RETRY_MS × attempt between. */
const ERASE_ATTEMPTS = 3;
const ERASE_RETRY_MS = 200;

/** The tables revocation deletes from or clears: their old row versions are reclaimed afterwards. */
const REVOKED_TABLES = ['data_keys', 'utterance_marks', 'voice_versions', 'sample_clips', 'voices', 'jobs', 'consents'] as const;

export interface DataKeyShredder {
  destroy(userId: string): void;
}

/** The records behind audio marks: on revocation each keeps only the deployment and the day. */
export interface MarkRecordEraser {
  forgetUser(userId: string): number;
}

export interface DeletionReceipt {
  readonly consentId: string;
  readonly outcome: 'revoked' | 'expired';
  readonly at: string;
  readonly by: string;
  readonly deleted: {
    readonly voices: number;
    readonly clips: number;
    readonly files: number;
    readonly bytes: number;
    readonly jobsCancelled: number;
    readonly activeWorkStopped: number;
  };
  /** The empty listing of the user's prefix taken after the deletion. */
  readonly filesProof: ErasedFiles['proof'];
}

export interface RevocationDeps {
  readonly db: SqlDatabase;
  readonly users: UserDirectory;
  readonly consents: ConsentService;
  readonly gate: ConsentGate;
  readonly keys: DataKeyShredder;
  readonly marks: MarkRecordEraser;
  readonly voices: VoiceCatalog;
  readonly clips: SampleClipIndex;
  /** Records the user's unfinished jobs as ended, inside the revocation's transaction (the fine-tune lifecycle). */
  readonly jobs: Pick<JobHistory, 'cancelForUser'>;
  readonly ledger: AuditLedger;
  readonly hooks: ErasureHooks;
  readonly clock: Clock;
}

/**
 * Revocation, in the order that makes it safe: the consent ends and the user's data
 * key is destroyed in one transaction (from then on every encrypted copy anywhere is
 * unreadable), streams and jobs stop, then files, caches and queue payloads go.
 */
export class Revocation {
  readonly #deps: RevocationDeps;

  constructor(deps: RevocationDeps) {
    this.#deps = deps;
  }

  /** Throws unless `actor` may revoke this consent. */
  authorize(consent: ConsentRecord, actor: RevocationActor): void {
    const { users } = this.#deps;
    switch (actor.kind) {
      case 'operator':
      case 'system':
        return;
      case 'user': {
        const owner = users.get(consent.userId);
        if (owner?.platform === actor.platform && owner.platformUserId === actor.platformUserId) return;
        throw new ConsentError('not_permitted', 'only the owner, an admin of its community or the operator can revoke this voice');
      }
      case 'admin':
        if (consent.scope.platform === actor.platform && consent.scope.context === actor.context) return;
        throw new ConsentError('not_permitted', 'this voice was not given for your community');
    }
  }

  async revoke(userId: string, actor: RevocationActor, reason: string, outcome: 'revoked' | 'expired' = 'revoked'): Promise<DeletionReceipt> {
    const d = this.#deps;
    const consent = d.consents.store.live(userId);
    if (!consent) throw new ConsentError('no_consent', 'there is no active consent to revoke');
    this.authorize(consent, actor);
    const by = actorLabel(actor);

    const { voiceIds, clips, jobVoices } = transaction(d.db, () => {
      d.consents.end(consent.id, outcome, reason, by);
      d.keys.destroy(userId);
      d.marks.forgetUser(userId);
      return {
        voiceIds: d.voices.markDeletedForUser(userId),
        clips: d.clips.deleteForUser(userId),
        jobVoices: d.jobs.cancelForUser(userId, `consent ${outcome}`),
      };
    });
    const activeWorkStopped = d.gate.abortAll(userId, `consent ${outcome}`);
    const affected = [...new Set([...voiceIds, ...jobVoices])];
    await d.hooks.cancelJobs(affected);
    d.hooks.evictVoices(affected);
    const erased = await this.#eraseFiles(userId, consent.id, by);
    // Deleted rows and the shredded key must leave no old copy behind where the engine allows it
    // (SQLite: fold the WAL back; PostgreSQL: VACUUM what revocation changed).
    d.db.reclaimDeleted(REVOKED_TABLES);

    const receipt: DeletionReceipt = {
      consentId: consent.id,
      outcome,
      at: d.clock().toISOString(),
      by,
      deleted: { voices: voiceIds.length, clips, files: erased.files, bytes: erased.bytes, jobsCancelled: jobVoices.length, activeWorkStopped },
      filesProof: erased.proof,
    };
    d.ledger.append({
      type: 'deletion.receipt',
      actor: by,
      subject: userId,
      data: { consentId: consent.id, outcome, ...receipt.deleted, filesProof: { ...erased.proof } },
    });
    return receipt;
  }

  /**
   * Finishes the file erasures that revocations recorded as `deletion.incomplete` (the store was
   * down, or its listing stayed non-empty): each is tried once more, and an empty listing is
   * recorded as `deletion.completed` with its proof. The retention sweep calls this every hour.
   * A user who consented again since is left alone: their prefix holds new files now (the old
   * ones stay unreadable: their key is gone). Returns how many were finished.
   */
  async finishIncompleteErasures(): Promise<number> {
    const d = this.#deps;
    const latest = new Map<string, { seq: number; consentId: string; done: boolean }>();
    // A later receipt (the user consented again and revoked again) or completion settles an incomplete erasure.
    for (const type of ['deletion.incomplete', 'deletion.completed', 'deletion.receipt'] as const) {
      for (const event of d.ledger.events({ type })) {
        if (!event.subject) continue;
        const seen = latest.get(event.subject);
        if (!seen || event.seq > seen.seq)
          latest.set(event.subject, { seq: event.seq, consentId: String(event.data['consentId']), done: type !== 'deletion.incomplete' });
      }
    }
    let finished = 0;
    for (const [userId, last] of latest) {
      if (last.done || d.consents.store.live(userId)) continue;
      let erased: ErasedFiles;
      try {
        erased = await d.hooks.eraseFiles(userId);
      } catch {
        continue; // still failing: the next sweep tries again
      }
      d.ledger.append({
        type: 'deletion.completed',
        actor: 'system',
        subject: userId,
        data: { consentId: last.consentId, files: erased.files, bytes: erased.bytes, filesProof: { ...erased.proof } },
      });
      finished += 1;
    }
    return finished;
  }

  /**
   * The file erasure, tried again when it fails or its listing is not empty (a store that
   * hiccups, a write that landed late). Still failing, it is recorded in the ledger as
   * `deletion.incomplete` and the revocation reports the error: never a receipt without proof
   * (`finishIncompleteErasures` tries again later).
   * The data key is already destroyed by then, so what is left is unreadable ciphertext.
   */
  async #eraseFiles(userId: string, consentId: string, by: string): Promise<ErasedFiles> {
    const d = this.#deps;
    let failure: unknown;
    for (let attempt = 1; attempt <= ERASE_ATTEMPTS; attempt += 1) {
      try {
        return await d.hooks.eraseFiles(userId);
      } catch (error) {
        failure = error;
        if (attempt < ERASE_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, ERASE_RETRY_MS * attempt));
      }
    }
    const code = failure instanceof StorageError ? failure.code : 'error';
    d.ledger.append({ type: 'deletion.incomplete', actor: by, subject: userId, data: { consentId, reason: code, attempts: ERASE_ATTEMPTS } });
    throw failure;
  }
}

export function actorLabel(actor: RevocationActor): string {
  switch (actor.kind) {
    case 'user':
      return `user:${actor.platform}:${actor.platformUserId}`;
    case 'admin':
      return `admin:${actor.platform}:${actor.context}:${actor.platformUserId}`;
    case 'operator':
      return 'operator';
    case 'system':
      return 'system';
  }
}

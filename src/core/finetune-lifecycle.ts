import type { ConsentService } from '../consent/consent-service.ts';
import type { AuditLedger } from '../consent/ledger.ts';
import type { FineTuneProgress } from '../engine/backend.ts';
import { transaction } from '../storage/database.ts';
import { newId } from '../storage/ids.ts';
import type { JobHistory, JobRecord } from '../storage/job-history.ts';
import type { VoiceCatalog, VoiceRecord } from '../storage/voice-catalog.ts';
import type { CloneQueue } from './ports.ts';
import type { SqlDatabase } from '../storage/sql-database.ts';

export interface FineTuneLifecycleDeps {
  readonly db: SqlDatabase;
  readonly jobs: JobHistory;
  readonly voices: VoiceCatalog;
  readonly consents: ConsentService;
  readonly ledger: AuditLedger;
  readonly queue: CloneQueue;
}

/** A run that trained and wrote its files, ready to be published. */
export interface FinishedRun {
  readonly jobId: string;
  readonly userId: string;
  readonly voiceId: string;
  readonly consentId: string;
  readonly version: number;
  readonly metrics: Record<string, number>;
}

/**
 * The one owner of a fine-tune job's records, from the queue to its last word: queued
 * (history row, queue entry, ledger), started, progress, and exactly one end — completed
 * (published with the voice in one transaction), failed, cancelled, or ended by a revocation
 * (with its traces purged from the queue). The service, the worker and revocation all go
 * through here, so no end is recorded twice or overwritten by a later one.
 */
export class FineTuneLifecycle {
  readonly #d: FineTuneLifecycleDeps;

  constructor(deps: FineTuneLifecycleDeps) {
    this.#d = deps;
  }

  /**
   * Records the job and queues it; returns its id. A queue that refuses leaves the job
   * recorded as failed (`queue_unavailable`) and the refusal is rethrown.
   */
  async enqueue(input: { voice: VoiceRecord; userId: string; backend: string; actor: string }): Promise<string> {
    const d = this.#d;
    const { voice, userId, backend } = input;
    const jobId = newId('job');
    transaction(d.db, () => {
      if (voice.backend !== backend) d.voices.setBackend(voice.id, backend);
      d.jobs.create({ id: jobId, voiceId: voice.id, userId, kind: 'finetune', backend });
    });
    try {
      await d.queue.enqueue({ jobId, voiceId: voice.id, userId, backend });
    } catch (error) {
      d.jobs.finished(jobId, { state: 'failed', errorCode: 'queue_unavailable', error: 'the job queue refused the job' });
      throw error;
    }
    d.ledger.append({ type: 'voice.finetune_queued', actor: input.actor, subject: userId, data: { voiceId: voice.id, jobId, backend } });
    return jobId;
  }

  /** The voice's fine-tune that is queued or running, if any. */
  inFlight(userId: string, voiceId: string): JobRecord | undefined {
    return this.#d.jobs.list({ userId, limit: 5 }).find((j) => j.voiceId === voiceId && isUnfinished(j));
  }

  started(jobId: string): void {
    this.#d.jobs.started(jobId);
  }

  progress(jobId: string, update: FineTuneProgress): void {
    this.#d.jobs.progress(jobId, update);
  }

  /**
   * Publishes the new version and records the end, all in one transaction. `stillAllowed`
   * runs inside it and throws when the consent ended: a revocation in another process
   * cannot slip in between the check and the publication.
   */
  completed(run: FinishedRun, stillAllowed: () => void): void {
    const d = this.#d;
    transaction(d.db, () => {
      stillAllowed();
      d.voices.publish(run.voiceId, run.version, 'finetuned', run.metrics);
      d.consents.voiceReady(run.consentId);
      d.jobs.finished(run.jobId, { state: 'completed', result: run.metrics });
      d.ledger.append({ type: 'voice.ready', actor: 'system', subject: run.userId, data: { voiceId: run.voiceId, version: run.version, jobId: run.jobId } });
    });
  }

  /** An attempt failed. A retried one stays active in the history; only the final failure ends the job. */
  failed(jobId: string, failure: { message: string; willRetry: boolean }): void {
    if (failure.willRetry) return;
    this.#endIfUnfinished(jobId, { state: 'failed', errorCode: 'failed', error: failure.message });
  }

  cancelled(jobId: string): void {
    this.#endIfUnfinished(jobId, { state: 'cancelled', errorCode: 'cancelled', error: 'the fine-tune was cancelled' });
  }

  /**
   * The user's consent ended: every unfinished job is recorded as ended by it. Runs inside
   * the revocation's transaction; returns the voices whose jobs it ended.
   */
  cancelForUser(userId: string, reason: string): string[] {
    return this.#d.jobs.cancelForUser(userId, reason);
  }

  /** After a revocation: removes every trace of the voices' runs from the queue. */
  purge(voiceIds: readonly string[]): Promise<void> {
    return this.#d.queue.purge(voiceIds);
  }

  /** An end already recorded (e.g. by a revocation) is never overwritten. */
  #endIfUnfinished(jobId: string, outcome: { state: 'failed' | 'cancelled'; errorCode: string; error: string }): void {
    const job = this.#d.jobs.get(jobId);
    if (job && isUnfinished(job)) this.#d.jobs.finished(jobId, outcome);
  }
}

function isUnfinished(job: JobRecord): boolean {
  return job.state === 'queued' || job.state === 'active';
}

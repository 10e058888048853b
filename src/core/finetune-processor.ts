import type { ConsentGate } from '../consent/consent-gate.ts';
import type { ConsentService } from '../consent/consent-service.ts';
import type { AuditLedger } from '../consent/ledger.ts';
import type { FineTuneProgress } from '../engine/backend.ts';
import type { BackendRegistry } from '../engine/registry.ts';
import { transaction } from '../storage/database.ts';
import type { JobHistory } from '../storage/job-history.ts';
import type { VoiceCatalog } from '../storage/voice-catalog.ts';
import type { DatabaseSync } from 'node:sqlite';
import type { VoiceFileAccess } from './ports.ts';
import type { Vocalis } from './vocalis.ts';

export interface FineTuneJobInput {
  readonly jobId: string;
  readonly voiceId: string;
  readonly userId: string;
  readonly backend: string;
  readonly sampleId: string;
}

export interface FineTuneJobControl {
  readonly signal: AbortSignal;
  progress(update: FineTuneProgress): Promise<void> | void;
}

/** A private plaintext folder for one job, removed however the job ends. */
export interface ScratchSpace {
  readonly path: string;
  dispose(): Promise<void>;
}

export interface FineTuneProcessorDeps {
  readonly db: DatabaseSync;
  readonly gate: ConsentGate;
  readonly consents: ConsentService;
  readonly ledger: AuditLedger;
  readonly voices: VoiceCatalog;
  readonly voiceFiles: VoiceFileAccess;
  readonly jobs: JobHistory;
  readonly backends: BackendRegistry;
  readonly vocalis: Vocalis;
  readonly scratch: (jobId: string) => Promise<ScratchSpace>;
}

/**
 * What a worker does with one `finetune` job: train under a consent ticket, write the
 * new version's files, and publish them in one transaction — or leave no trace but a
 * failed job. The previous version keeps serving until the new one is published.
 */
export function createFineTuneProcessor(d: FineTuneProcessorDeps) {
  return async function processFineTune(job: FineTuneJobInput, control: FineTuneJobControl): Promise<{ metrics: Record<string, number>; version: number }> {
    const ticket = d.gate.authorize({ purpose: 'train', userId: job.userId });
    ticket.watch();
    const signal = AbortSignal.any([ticket.signal, control.signal]);
    const voice = d.voices.require(job.voiceId);
    if (voice.consentId !== ticket.consentId) {
      ticket.release();
      throw new Error('the job belongs to an ended consent');
    }
    const version = d.voices.nextVersion(voice.id);
    const scratch = await d.scratch(job.jobId);
    d.jobs.started(job.jobId);
    try {
      // A crashed earlier attempt may have left files under this version number.
      await d.voiceFiles.discard(job.userId, voice.id, version);
      const result = await d.backends.get(job.backend).fineTune({
        voiceId: voice.id,
        sample: d.vocalis.sampleSource(job.userId, ticket.consentId),
        files: d.voiceFiles.files(job.userId, voice.id, version),
        scratchDir: scratch.path,
        signal,
        progress: (update) => {
          d.jobs.progress(job.jobId, update);
          void control.progress(update);
        },
      });
      signal.throwIfAborted();
      const metrics = { ...result.metrics };
      transaction(d.db, () => {
        // Checked inside the write transaction: a revocation in another process cannot slip in between.
        ticket.check();
        d.voices.publish(voice.id, version, 'finetuned', metrics);
        d.consents.voiceReady(ticket.consentId);
        d.jobs.finished(job.jobId, { state: 'completed', result: metrics });
        d.ledger.append({ type: 'voice.ready', actor: 'system', subject: job.userId, data: { voiceId: voice.id, version, jobId: job.jobId } });
      });
      return { metrics, version };
    } catch (error) {
      await d.voiceFiles.discard(job.userId, voice.id, version).catch(() => undefined);
      throw error;
    } finally {
      ticket.release();
      await scratch.dispose();
    }
  };
}

import type { ConsentGate } from '../consent/consent-gate.ts';
import type { BackendRegistry } from '../engine/registry.ts';
import type { VoiceCatalog } from '../storage/voice-catalog.ts';
import type { FineTuneLifecycle } from './finetune-lifecycle.ts';
import type { ConsentSamples, VoiceFileAccess } from './ports.ts';

export interface FineTuneJobInput {
  readonly jobId: string;
  readonly voiceId: string;
  readonly userId: string;
  readonly backend: string;
}

export interface FineTuneJobControl {
  readonly signal: AbortSignal;
}

/** A private plaintext folder for one job, removed however the job ends. */
export interface ScratchSpace {
  readonly path: string;
  dispose(): Promise<void>;
}

export interface FineTuneProcessorDeps {
  readonly gate: ConsentGate;
  readonly lifecycle: FineTuneLifecycle;
  readonly voices: VoiceCatalog;
  readonly voiceFiles: VoiceFileAccess;
  readonly backends: BackendRegistry;
  readonly samples: ConsentSamples;
  readonly scratch: (jobId: string) => Promise<ScratchSpace>;
}

/**
 * What a worker does with one `finetune` job: train under a consent ticket, write the
 * new version's files, and have the lifecycle publish them in one transaction — or leave
 * no trace but a failed job. The previous version keeps serving until the new one is published.
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
    d.lifecycle.started(job.jobId);
    try {
      // A crashed earlier attempt may have left files under this version number.
      await d.voiceFiles.discard(job.userId, voice.id, version);
      const result = await d.backends.get(job.backend).fineTune({
        voiceId: voice.id,
        sample: d.samples.sampleSource(job.userId, ticket.consentId),
        files: d.voiceFiles.files(job.userId, voice.id, version),
        scratchDir: scratch.path,
        signal,
        progress: (update) => d.lifecycle.progress(job.jobId, update),
      });
      signal.throwIfAborted();
      const metrics = { ...result.metrics };
      d.lifecycle.completed({ jobId: job.jobId, userId: job.userId, voiceId: voice.id, consentId: ticket.consentId, version, metrics }, () => ticket.check());
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

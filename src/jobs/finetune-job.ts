/**
 * The `finetune` job as it travels through Redis. Payloads carry ids only: audio,
 * transcripts and tokens stay in Vocalis' own storage, so nothing sensitive sits in
 * Redis (and consent revocation has little to scrub there).
 */
export interface FineTuneJobData {
  /** Vocalis' own id of this fine-tune run. */
  jobId: string;
  voiceId: string;
  userId: string;
  /** Engine backend name, e.g. 'gpt-sovits'. */
  backend: string;
}

export interface FineTuneJobResult {
  metrics: Record<string, number>;
  /** Version number of the voice model the run produced. */
  version: number;
}

/** Where a job is, as seen from outside: enough to find it in logs and to route events. */
export interface FineTuneJobRef {
  voiceId: string;
  jobId: string;
}

/**
 * Ids end up in Redis key names and in a `voiceId.jobId` BullMQ id, so they are
 * restricted to characters that are neither Redis glob syntax nor our separator.
 */
const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export class InvalidJobIdError extends Error {
  constructor(field: string) {
    super(`${field} must match ${ID_PATTERN.source}`);
    this.name = 'InvalidJobIdError';
  }
}

export function assertValidId(field: string, value: string): void {
  if (!ID_PATTERN.test(value)) throw new InvalidJobIdError(field);
}

export function assertValidJobData(data: FineTuneJobData): void {
  assertValidId('jobId', data.jobId);
  assertValidId('voiceId', data.voiceId);
  assertValidId('userId', data.userId);
  assertValidId('backend', data.backend);
}

/**
 * The payload as the processor gets it: the declared fields only. Jobs queued before this
 * version also carry `sampleId` (the consent id, which the processor takes from its consent
 * ticket instead); it is dropped here, so those jobs run as they are.
 */
export function readJobData(raw: FineTuneJobData): FineTuneJobData {
  return { jobId: raw.jobId, voiceId: raw.voiceId, userId: raw.userId, backend: raw.backend };
}

/**
 * BullMQ job id: `<voiceId>.<jobId>`. Derived from the voice so every trace of a voice
 * can be found by key prefix (consent revocation's purge, bull-layout.ts); the Vocalis job
 * id keeps it unique so a finished run never blocks the next.
 */
export function bullJobId(ref: FineTuneJobRef): string {
  return `${ref.voiceId}.${ref.jobId}`;
}

export function parseBullJobId(id: string): FineTuneJobRef | null {
  const dot = id.indexOf('.');
  if (dot <= 0 || dot === id.length - 1) return null;
  return { voiceId: id.slice(0, dot), jobId: id.slice(dot + 1) };
}

/** Reason stored on a job that was cancelled by request (not a training failure). */
export const CANCELLED_REASON = 'vocalis:cancelled';

/** A worker shutting down aborts its job with this reason; the job goes back to waiting. */
export const SHUTDOWN_REASON = 'vocalis:worker-shutdown';

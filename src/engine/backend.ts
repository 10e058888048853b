import type { ReadingScript } from '../consent/reading-script.ts';
import type { PcmChunk } from './pcm.ts';

/**
 * The one contract every voice backend implements. A backend never reads the
 * data directory itself: samples arrive decrypted through `SampleSource`, and
 * model files go in and out through `VoiceFiles`, which encrypts at rest.
 * Nothing here is global: every call carries the voice it works on.
 */

export interface SampleSource {
  /** The whole accepted sample as mono PCM at the rate asked for. */
  read(sampleRate: number): Promise<PcmChunk>;
  readonly script: ReadingScript | null;
}

/** Encrypted per-voice file storage, scoped to one voice version. Names are plain file names. */
export interface VoiceFiles {
  write(name: string, data: Uint8Array): Promise<void>;
  read(name: string): Promise<Uint8Array>;
  has(name: string): Promise<boolean>;
}

export interface FineTuneProgress {
  readonly stage: string;
  /** 0..1 over the whole fine-tune. */
  readonly fraction: number;
  readonly detail?: Readonly<Record<string, number | string>>;
}

export interface FineTuneContext {
  readonly voiceId: string;
  readonly sample: SampleSource;
  /** Where the new version's model files go; published only if fine-tune returns. */
  readonly files: VoiceFiles;
  /** Private plaintext scratch folder, wiped when the job ends, fails or is cancelled. */
  readonly scratchDir: string;
  readonly signal: AbortSignal;
  progress(update: FineTuneProgress): void;
}

export interface FineTuneResult {
  /** Figures the job reports, e.g. `validationMcdDb`. */
  readonly metrics: Readonly<Record<string, number>>;
}

export interface SynthesisRequest {
  readonly text: string;
  /** BCP-47-ish language code, e.g. `en`, `zh`. */
  readonly language: string;
  /** Speaking rate multiplier; 1 is the voice's own rate (GPT-SoVITS's 1/length_scale). */
  readonly speed: number;
  /** 0..1 sampling variability (GPT-SoVITS's noise_scale). */
  readonly variability: number;
  readonly signal: AbortSignal;
}

/** A voice loaded for synthesis: a per-request handle, never a global "current voice". */
export interface LoadedVoice {
  /** Resident bytes, for the engine's voice cache. */
  readonly sizeBytes: number;
  /** Streams audio for any length of text, phrase by phrase, until done or aborted. */
  synthesize(request: SynthesisRequest): AsyncIterable<PcmChunk>;
  dispose(): void;
}

export interface BackendInfo {
  readonly name: string;
  readonly description: string;
  readonly languages: readonly string[];
  /** Net speech the fine-tune wants, in seconds. */
  readonly targetSpeechSeconds: number;
  /** Lowest sample rate a sample may have for this backend. */
  readonly minSampleRate: number;
}

export interface PreparedSample {
  /** True when the files written make the voice speak before any fine-tune (a preview). */
  readonly zeroShot: boolean;
}

export interface VoiceBackend {
  readonly info: BackendInfo;
  /** Fast, backend-specific work on an accepted sample (reference clips, statistics). */
  prepareSample(sample: SampleSource, files: VoiceFiles, signal: AbortSignal): Promise<PreparedSample>;
  fineTune(context: FineTuneContext): Promise<FineTuneResult>;
  loadVoice(files: VoiceFiles, signal: AbortSignal): Promise<LoadedVoice>;
  /** Releases what the backend holds across voices (worker threads, shared sessions). */
  close?(): Promise<void>;
}

/** What a backend can refuse or fail with: a closed set, each with a message in the catalogue (`error.<code>`). */
export const BACKEND_ERROR_CODES = [
  'backend_closed',
  'base_voice_failed',
  'conversion_failed',
  'cuda_unavailable',
  'disk_full',
  'empty_text',
  'export_failed',
  'gpu_out_of_memory',
  'model_corrupt',
  'model_missing',
  'model_signature',
  'not_supported',
  'sample_too_short',
  'script_required',
  'text_too_long',
  'training_failed',
  'unknown_backend',
  'unknown_base_voice',
  'unspeakable_text',
  'unsupported_language',
  'voice_corrupt',
  'voice_not_prepared',
] as const;

export type BackendErrorCode = (typeof BACKEND_ERROR_CODES)[number];

/** Raised for problems a user can act on; `code` is stable, `message` is for logs and the CLI. */
export class BackendError extends Error {
  readonly code: BackendErrorCode;
  /** Figures the user-facing message shows, e.g. `{ max: 5000 }` for `text_too_long`. */
  readonly details: Readonly<Record<string, string | number>>;
  constructor(code: BackendErrorCode, message: string, details: Record<string, string | number> = {}) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
    this.details = details;
  }
}

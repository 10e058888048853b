import type { ConsentTicket, PlatformIdentity } from '../consent/consent-gate.ts';
import type { PreparedSample, SampleSource, VoiceFiles } from '../engine/backend.ts';
import type { PcmChunk } from '../engine/pcm.ts';
import type { SpeechOptions, VoiceTarget } from '../engine/speech-engine.ts';

/** Encrypted audio of sample clips, per user. Implemented over src/storage's encrypted files. */
export interface ClipAudioStore {
  write(userId: string, clipId: string, pcm: PcmChunk): Promise<void>;
  read(userId: string, clipId: string): Promise<PcmChunk>;
  delete(userId: string, clipIds: readonly string[]): Promise<void>;
}

/** Encrypted model files of one voice version, and removal of a version that never published. */
export interface VoiceFileAccess {
  files(userId: string, voiceId: string, version: number): VoiceFiles;
  discard(userId: string, voiceId: string, version: number): Promise<void>;
}

/** The producer side of the fine-tune queue, as the core needs it. */
export interface CloneQueue {
  enqueue(job: { jobId: string; voiceId: string; userId: string; backend: string }): Promise<void>;
  position(voiceId: string): Promise<number | null>;
  /** Cancels the voices' runs and removes every trace of them from the queue (revocation). */
  purge(voiceIds: readonly string[]): Promise<void>;
}

/** The decrypted sample of a consent as backends read it: all the fine-tune worker needs of the core. */
export interface ConsentSamples {
  sampleSource(userId: string, consentId: string): SampleSource;
}

/** The user's data key must exist before anything of theirs is written. */
export interface DataKeyIssuer {
  issue(userId: string): void;
}

/** One voice version about to be prepared from its consent's sample. */
export interface PreparationTarget extends VoiceTarget {
  readonly consentId: string;
}

/**
 * Preparing a voice version from the consented sample (the preview voice, ready at once for
 * zero-shot backends): in this process, or on the voice's engine node (VOCALIS_ENGINE=remote),
 * which reads the sample and writes the version's files itself. The core publishes the version.
 */
export interface VoicePreparation {
  prepare(target: PreparationTarget, signal: AbortSignal): Promise<PreparedSample>;
}

/** Who asks for speech and where it will be heard: a remote engine node asks its own gate again with it. */
export interface SpeechRequester {
  readonly requester: PlatformIdentity;
  readonly context: { readonly platform: string; readonly contextId: string };
}

/**
 * Synthesis as the core asks for it: the in-process `SpeechEngine`, or a client of engine
 * nodes on other hosts (src/engine-node, `VOCALIS_ENGINE=remote`), chosen in src/app.
 * Either way the ticket is checked before each chunk is handed on and released at the end.
 */
export interface SpeechSynthesis {
  /** Syntheses streaming through this process now. */
  readonly activeStreams: number;
  stream(target: VoiceTarget, options: SpeechOptions, ticket: ConsentTicket, requester: SpeechRequester): AsyncIterable<PcmChunk>;
}

import type { PcmChunk } from '../pcm.ts';

/** Which model judged a voice, for the consent receipt. */
export interface SpeakerModelInfo {
  readonly name: string;
  readonly version: string;
}

/**
 * How alike two recordings' speakers are. `score` is on the model's own scale (higher:
 * more alike); the threshold that turns it into a decision is configuration.
 */
export interface SpeakerScore {
  readonly score: number;
  /** Voiced speech the score rests on. */
  readonly speechSeconds: number;
}

/**
 * A speaker-verification back end. An enrolment is the model's own voiceprint of one
 * person, opaque to callers (biometric data: it is stored only encrypted); more speech
 * of the same person can be folded into it. The built-in model is a GMM-UBM; an ONNX
 * speaker-embedding model fits the same shape (enrolment = summed embeddings).
 */
export interface SpeakerModel {
  readonly info: SpeakerModelInfo;
  enrol(pcm: PcmChunk, previous?: Uint8Array): Promise<Uint8Array>;
  score(enrolment: Uint8Array, pcm: PcmChunk): Promise<SpeakerScore>;
}

export class EnrolmentMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnrolmentMismatchError';
  }
}

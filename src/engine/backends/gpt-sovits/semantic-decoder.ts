/**
 * What every semantic-token decode loop shares: upstream's stopping constants, the encoder's
 * inputs, and the per-request decoder interface (one object per segment owns all its state).
 */

export const EOS = 1024;
export const MIN_TOKENS_BEFORE_EOS = 11;
export const MAX_TOKENS = 1500;

export interface EncoderInputs {
  readonly refIds: readonly number[];
  readonly textIds: readonly number[];
  /** [refIds.length × 1024] and [textIds.length × 1024]. */
  readonly refBert: Float32Array;
  readonly textBert: Float32Array;
  /** SSL features [768 × frames], channel-major as the graph wants. */
  readonly ssl: Float32Array;
  readonly sslFrames: number;
}

export interface SemanticDecoder {
  /** The next semantic token, or null at EOS or the cap. */
  next(): Promise<number | null>;
  readonly generated: number;
  readonly done: boolean;
  /** Drops the KV cache now (cancellation or the end): nothing of the request stays referenced. */
  dispose(): void;
}

/** A block of mono float PCM in [-1, 1] at a known rate: the unit every audio stage passes on. */
export interface PcmChunk {
  readonly samples: Float32Array;
  readonly sampleRate: number;
}

export function durationSeconds(chunk: PcmChunk): number {
  return chunk.samples.length / chunk.sampleRate;
}

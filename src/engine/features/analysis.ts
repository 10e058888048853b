import { FRAME_SHIFT } from './constants.ts';
import { EnvelopeAnalyser } from './envelope.ts';
import { estimateF0 } from './f0.ts';
import { cepstrumToMelCepstrum } from './melcep.ts';

/** Vocoder parameters of an utterance, one entry per 5 ms frame. */
export interface Features {
  /** Hz; 0 = unvoiced. */
  readonly f0: Float64Array;
  /** Low-band aperiodicity ratio (0..1); synthesis raises it with frequency. */
  readonly aperiodicity: Float64Array;
  /** Mel-cepstrum c0..c24 of the smooth envelope per frame. */
  readonly mcep: Float64Array[];
}

export function analyse(samples: Float32Array, signal?: AbortSignal): Features {
  const track = estimateF0(samples);
  const analyser = new EnvelopeAnalyser();
  const mcep: Float64Array[] = [];
  for (let i = 0; i < track.f0.length; i++) {
    if ((i & 1023) === 0) signal?.throwIfAborted();
    mcep.push(cepstrumToMelCepstrum(analyser.cepstrum(samples, i * FRAME_SHIFT, track.f0[i]!)));
  }
  return { f0: track.f0, aperiodicity: track.aperiodicity, mcep };
}

/**
 * Frames that carry speech: c0 within 30 dB (3.45 nepers of amplitude) of the
 * loud end of the utterance. Silence would otherwise dominate statistics and DTW.
 */
export function speechMask(mcep: readonly Float64Array[]): Uint8Array {
  const c0 = mcep.map((c) => c[0]!).sort((a, b) => a - b);
  const mask = new Uint8Array(mcep.length);
  if (c0.length === 0) return mask;
  const loud = c0[Math.floor(0.95 * (c0.length - 1))]!;
  const threshold = loud - 3.45;
  for (let i = 0; i < mcep.length; i++) mask[i] = mcep[i]![0]! > threshold ? 1 : 0;
  return mask;
}

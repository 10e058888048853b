import { FRAME_SHIFT, SAMPLE_RATE } from '../../features/constants.ts';
import { speechMask, type Features } from '../../features/analysis.ts';

/**
 * Per-speaker feature statistics: what the statistics-matching conversion maps
 * between, what picks the nearest base voice, and (for c0, log F0 and rate) what
 * the GMM conversion still uses beside its spectral mapping.
 */
export interface VoiceStats {
  /** Mean and standard deviation of c0..c24 over speech frames. */
  readonly mcepMean: number[];
  readonly mcepStd: number[];
  /** Natural-log F0 over voiced frames. */
  readonly lf0Mean: number;
  readonly lf0Std: number;
  /** Voiced segments per second of speech: a syllable-rate proxy when the text is unknown. */
  readonly syllableRate: number;
  /** Seconds of speech frames. */
  readonly speechSeconds: number;
}

export function computeStats(features: Features): VoiceStats {
  const mask = speechMask(features.mcep);
  const dims = features.mcep[0]?.length ?? 0;
  const mean = new Array<number>(dims).fill(0);
  const sq = new Array<number>(dims).fill(0);
  let count = 0;
  for (let t = 0; t < features.mcep.length; t++) {
    if (!mask[t]) continue;
    const c = features.mcep[t]!;
    for (let d = 0; d < dims; d++) {
      mean[d] = mean[d]! + c[d]!;
      sq[d] = sq[d]! + c[d]! * c[d]!;
    }
    count++;
  }
  const n = Math.max(1, count);
  const std = mean.map((m, d) => Math.sqrt(Math.max(1e-8, sq[d]! / n - (m / n) ** 2)));
  let lf0 = 0;
  let lf0Sq = 0;
  let voiced = 0;
  let segments = 0;
  for (let t = 0; t < features.f0.length; t++) {
    const f = features.f0[t]!;
    if (f <= 0) continue;
    const l = Math.log(f);
    lf0 += l;
    lf0Sq += l * l;
    voiced++;
    if (t === 0 || features.f0[t - 1] === 0) segments++;
  }
  const v = Math.max(1, voiced);
  const speechSeconds = (count * FRAME_SHIFT) / SAMPLE_RATE;
  return {
    mcepMean: mean.map((m) => m / n),
    mcepStd: std,
    lf0Mean: voiced > 0 ? lf0 / v : Math.log(120),
    lf0Std: voiced > 1 ? Math.sqrt(Math.max(1e-6, lf0Sq / v - (lf0 / v) ** 2)) : 0.15,
    syllableRate: speechSeconds > 0 ? segments / speechSeconds : 4,
    speechSeconds,
  };
}

/** Maps log F0 of voiced frames by mean and variance (ratio of spreads kept in a sane range). */
export function convertF0(f0: Float64Array, from: VoiceStats, to: VoiceStats): Float64Array {
  const ratio = clamp(to.lf0Std / from.lf0Std, 0.5, 2);
  return f0.map((f) => (f > 0 ? Math.exp(to.lf0Mean + ratio * (Math.log(f) - from.lf0Mean)) : 0));
}

/** Maps mel-cepstral dimensions [firstDim, endDim) by mean and variance. */
export function convertByStats(mcep: readonly Float64Array[], from: VoiceStats, to: VoiceStats, firstDim: number, endDim: number): Float64Array[] {
  return mcep.map((c) => {
    const out = Float64Array.from(c);
    for (let d = firstDim; d < endDim; d++) {
      const ratio = clamp(to.mcepStd[d]! / from.mcepStd[d]!, 0.5, 2);
      out[d] = to.mcepMean[d]! + ratio * (c[d]! - from.mcepMean[d]!);
    }
    return out;
  });
}

/**
 * Distance between two speakers' statistics for choosing the base voice:
 * pitch in semitones/2 and the spectral mean as MCD/4 dB: pitch decides, and the
 * average spectrum (which also carries the recording channel) breaks near ties.
 */
export function voiceDistance(a: VoiceStats, b: VoiceStats): number {
  const semitones = (12 * Math.abs(a.lf0Mean - b.lf0Mean)) / Math.LN2;
  let s = 0;
  for (let d = 1; d < a.mcepMean.length; d++) s += (a.mcepMean[d]! - b.mcepMean[d]!) ** 2;
  const mcd = (10 / Math.LN10) * Math.sqrt(2 * s);
  return Math.hypot(semitones / 2, mcd / 4);
}

export function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

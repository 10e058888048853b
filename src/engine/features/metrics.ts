import { SAMPLE_RATE } from './constants.ts';
import { fftOfSize } from '../dsp/fft.ts';
import { cachedHann } from '../dsp/window.ts';
import { speechMask, type Features } from './analysis.ts';
import { alignSequences } from './dtw.ts';

/**
 * Objective measures shared by tests, the bench and the fine-tune's validation.
 * Mel-cepstra follow SPTK's convention (see melcep.ts), so the standard MCD
 * formula applies: (10 / ln 10) * sqrt(2 * sum_{d>=1} (c_d - c'_d)^2), c0 excluded.
 */
const MCD_SCALE = (10 / Math.LN10) * Math.SQRT2;

export function frameMcdDb(a: Float64Array, b: Float64Array): number {
  let s = 0;
  const dims = Math.min(a.length, b.length);
  for (let d = 1; d < dims; d++) {
    const diff = a[d]! - b[d]!;
    s += diff * diff;
  }
  return MCD_SCALE * Math.sqrt(s);
}

/** Mean MCD over frame pairs that are already aligned. */
export function alignedMcdDb(pairs: ReadonlyArray<readonly [Float64Array, Float64Array]>): number {
  if (pairs.length === 0) return NaN;
  let sum = 0;
  for (const [a, b] of pairs) sum += frameMcdDb(a, b);
  return sum / pairs.length;
}

export interface Comparison {
  /** Mean MCD (dB) over the DTW path between the speech frames of both. */
  readonly mcdDb: number;
  /** F0 RMSE (Hz) over aligned frames voiced in both. */
  readonly f0RmseHz: number;
  /** The same in cents, which does not depend on the register. */
  readonly f0RmseCents: number;
}

/** Compares converted (or base) speech against the target's own recording of the same text. */
export function compareFeatures(reference: Features, test: Features): Comparison {
  const refIdx = indicesOf(speechMask(reference.mcep));
  const testIdx = indicesOf(speechMask(test.mcep));
  const alignment = alignSequences(
    refIdx.map((i) => reference.mcep[i]!),
    testIdx.map((i) => test.mcep[i]!),
    { firstDim: 1, endDim: reference.mcep[0]?.length ?? 25, band: 0.3 },
  );
  let mcd = 0;
  let f0Sq = 0;
  let centsSq = 0;
  let voiced = 0;
  for (const [a, b] of alignment.pairs) {
    const ra = refIdx[a]!;
    const tb = testIdx[b]!;
    mcd += frameMcdDb(reference.mcep[ra]!, test.mcep[tb]!);
    const fa = reference.f0[ra]!;
    const fb = test.f0[tb]!;
    if (fa > 0 && fb > 0) {
      f0Sq += (fa - fb) ** 2;
      centsSq += (1200 * Math.log2(fb / fa)) ** 2;
      voiced++;
    }
  }
  const count = alignment.pairs.length;
  return {
    mcdDb: count > 0 ? mcd / count : NaN,
    f0RmseHz: voiced > 0 ? Math.sqrt(f0Sq / voiced) : NaN,
    f0RmseCents: voiced > 0 ? Math.sqrt(centsSq / voiced) : NaN,
  };
}

function indicesOf(mask: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
}

/**
 * Speaker similarity feature: over speech frames (25 ms, 10 ms hop), the mean
 * and standard deviation of 40 log-mel band energies. The mean vector is
 * centred (its average removed) so recording gain does not count; the
 * std vector is kept as is. Compared with cosine similarity. Crude next to a
 * neural speaker embedding, but transparent and dependency-free.
 */
const MEL_BANDS = 40;
const SIM_FFT = 512;

function melFilterbank(): Float64Array[] {
  const mel = (f: number): number => 2595 * Math.log10(1 + f / 700);
  const inv = (m: number): number => 700 * (10 ** (m / 2595) - 1);
  const lo = mel(60);
  const hi = mel(7600);
  const edges: number[] = [];
  for (let i = 0; i < MEL_BANDS + 2; i++) edges.push((inv(lo + ((hi - lo) * i) / (MEL_BANDS + 1)) * SIM_FFT) / SAMPLE_RATE);
  const bank: Float64Array[] = [];
  for (let b = 0; b < MEL_BANDS; b++) {
    const w = new Float64Array(SIM_FFT / 2 + 1);
    const l = edges[b]!;
    const c = edges[b + 1]!;
    const r = edges[b + 2]!;
    for (let k = 0; k <= SIM_FFT / 2; k++) {
      if (k > l && k <= c) w[k] = (k - l) / (c - l);
      else if (k > c && k < r) w[k] = (r - k) / (r - c);
    }
    bank.push(w);
  }
  return bank;
}

export function speakerEmbedding(samples: Float32Array): Float64Array {
  const fft = fftOfSize(SIM_FFT);
  const bank = melFilterbank();
  const win = cachedHann(400);
  const re = new Float64Array(SIM_FFT);
  const im = new Float64Array(SIM_FFT);
  const frames: Float64Array[] = [];
  const energies: number[] = [];
  for (let start = 0; start + 400 <= samples.length; start += 160) {
    re.fill(0);
    im.fill(0);
    for (let j = 0; j < 400; j++) re[j] = samples[start + j]! * win[j]!;
    fft.transform(re, im);
    const v = new Float64Array(MEL_BANDS);
    let e = 0;
    for (let b = 0; b < MEL_BANDS; b++) {
      const w = bank[b]!;
      let s = 0;
      for (let k = 0; k <= SIM_FFT / 2; k++) if (w[k]! > 0) s += w[k]! * (re[k]! * re[k]! + im[k]! * im[k]!);
      v[b] = Math.log(s + 1e-10);
      e += s;
    }
    frames.push(v);
    energies.push(Math.log(e + 1e-10));
  }
  const sorted = [...energies].sort((a, b) => a - b);
  const loud = sorted[Math.floor(0.95 * (sorted.length - 1))] ?? 0;
  const speech = frames.filter((_, i) => energies[i]! > loud - 6.9); // within 30 dB (power)
  const mean = new Float64Array(MEL_BANDS);
  const std = new Float64Array(MEL_BANDS);
  if (speech.length === 0) return new Float64Array(2 * MEL_BANDS); // silence: no speaker to describe
  for (const f of speech) for (let b = 0; b < MEL_BANDS; b++) mean[b] = mean[b]! + f[b]! / speech.length;
  for (const f of speech) for (let b = 0; b < MEL_BANDS; b++) std[b] = std[b]! + (f[b]! - mean[b]!) ** 2 / speech.length;
  const avg = mean.reduce((s, v) => s + v, 0) / MEL_BANDS;
  const out = new Float64Array(2 * MEL_BANDS);
  for (let b = 0; b < MEL_BANDS; b++) {
    out[b] = mean[b]! - avg;
    out[MEL_BANDS + b] = Math.sqrt(std[b]!);
  }
  return out;
}

export function cosineSimilarity(a: Float64Array, b: Float64Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

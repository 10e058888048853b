import { MCEP_ALPHA, MCEP_ORDER } from './constants.ts';

/**
 * Mel-cepstra in SPTK's convention: a causal cepstrum of the natural-log
 * amplitude, log|H(w)| = c0 + sum_{m>=1} c_m cos(m * warp(w)), where warp is the
 * first-order all-pass frequency warping with constant alpha.
 */

/**
 * Frequency transformation of a causal cepstrum (Oppenheim's all-pass recursion,
 * as described for SPTK's freqt): maps a cepstrum to the cepstrum on a warped
 * frequency axis. With alpha > 0 it warps towards mel; with -alpha it goes back.
 */
export function frequencyTransform(input: Float64Array, outOrder: number, alpha: number): Float64Array {
  const beta = 1 - alpha * alpha;
  let d = new Float64Array(outOrder + 1);
  let g = new Float64Array(outOrder + 1);
  for (let i = input.length - 1; i >= 0; i--) {
    const t = g;
    g = d;
    d = t;
    d[0] = input[i]! + alpha * g[0]!;
    if (outOrder >= 1) d[1] = beta * g[0]! + alpha * g[1]!;
    for (let j = 2; j <= outOrder; j++) d[j] = g[j - 1]! + alpha * (g[j]! - d[j - 1]!);
  }
  return d;
}

/** Warped frequency of an all-pass with constant alpha, for w in [0, pi]. */
export function warpFrequency(w: number, alpha: number): number {
  return Math.atan2((1 - alpha * alpha) * Math.sin(w), (1 + alpha * alpha) * Math.cos(w) - 2 * alpha);
}

const cosTables = new Map<number, Float64Array[]>();

/** cos(m * warp(w_k)) for the bins k = 0..fftSize/2, cached per size. */
function cosTable(fftSize: number): Float64Array[] {
  let table = cosTables.get(fftSize);
  if (!table) {
    const bins = fftSize / 2 + 1;
    table = [];
    for (let m = 0; m <= MCEP_ORDER; m++) {
      const row = new Float64Array(bins);
      for (let k = 0; k < bins; k++) row[k] = Math.cos(m * warpFrequency((Math.PI * k) / (fftSize / 2), MCEP_ALPHA));
      table.push(row);
    }
    cosTables.set(fftSize, table);
  }
  return table;
}

/** Natural-log amplitude at the bins 0..fftSize/2 of a mel-cepstrum. */
export function melCepstrumToLogAmplitude(mc: Float64Array, fftSize: number, out?: Float64Array): Float64Array {
  const table = cosTable(fftSize);
  const bins = fftSize / 2 + 1;
  const result = out ?? new Float64Array(bins);
  result.fill(mc[0] ?? 0);
  for (let m = 1; m < mc.length && m <= MCEP_ORDER; m++) {
    const c = mc[m]!;
    const row = table[m]!;
    for (let k = 0; k < bins; k++) result[k] = result[k]! + c * row[k]!;
  }
  return result;
}

/** Mel-cepstrum of a linear causal cepstrum. */
export function cepstrumToMelCepstrum(cepstrum: Float64Array): Float64Array {
  return frequencyTransform(cepstrum, MCEP_ORDER, MCEP_ALPHA);
}

/** Linear causal cepstrum (order `order`) of a mel-cepstrum: the input of minimum-phase synthesis. */
export function melCepstrumToCepstrum(mc: Float64Array, order: number): Float64Array {
  return frequencyTransform(mc, order, -MCEP_ALPHA);
}

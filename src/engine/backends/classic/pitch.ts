import type { Features } from '../../features/analysis.ts';
import { convertWithGmm } from './convert-gmm.ts';
import { withDeltas } from './deltas.ts';
import { emStep, singleComponent, splitComponents, varianceFloor, type JointGmm } from './gmm.ts';
import { clamp, type VoiceStats } from './stats.ts';

/**
 * Intonation beyond mean and variance: where parallel frames exist (script or
 * transcript), a small joint-density GMM on [log F0, Δlog F0] of aligned voiced
 * frames maps the base voice's pitch movement to the user's, frame by frame
 * (with MLPG for a smooth contour). It learns, for instance, that the user
 * rises higher than the base voice on stressed syllables or falls deeper at
 * phrase ends. It is kept only when it beats the mean/variance mapping on the
 * held-out last tenth of the aligned frames; otherwise the model has no
 * `pitch` entry and the mean/variance mapping stays.
 */
export interface PitchMapping {
  components: Array<{ weight: number; mx: number[]; my: number[]; sxx: number[]; sxy: number[]; syy: number[] }>;
}

const SIZES = [1, 2, 4] as const;
const EM_ITERATIONS = 8;
/** The GMM must beat the mean/variance mapping's held-out RMSE by this share to be kept. */
const MIN_GAIN = 0.02;
const MIN_VOICED_PAIRS = 400;

/** Log F0 with unvoiced gaps bridged linearly (held at the edges), one 1-D frame each: MLPG needs a continuous track. */
export function continuousLogF0(f0: Float64Array): Float64Array[] {
  const n = f0.length;
  const out = new Float64Array(n);
  let last = -1;
  for (let t = 0; t < n; t++) {
    if (!(f0[t]! > 0)) continue;
    const v = Math.log(f0[t]!);
    if (last < 0) out.fill(v, 0, t);
    else {
      const from = out[last]!;
      for (let k = last + 1; k < t; k++) out[k] = from + ((v - from) * (k - last)) / (t - last);
    }
    out[t] = v;
    last = t;
  }
  if (last >= 0) out.fill(out[last]!, last + 1);
  else out.fill(Math.log(120));
  return Array.from(out, (v) => Float64Array.of(v));
}

function meanVarianceLf0(lf0: number, from: VoiceStats, to: VoiceStats): number {
  return to.lf0Mean + clamp(to.lf0Std / from.lf0Std, 0.5, 2) * (lf0 - from.lf0Mean);
}

function rmse(pairs: ReadonlyArray<readonly [number, number]>): number {
  if (pairs.length === 0) return Infinity;
  return Math.sqrt(pairs.reduce((s, [a, b]) => s + (a - b) ** 2, 0) / pairs.length);
}

/** Trains the pitch GMM on voiced aligned pairs; null when data is short or it does not beat mean/variance on held-out frames. */
export function pitchMapping(
  base: Features,
  user: Features,
  pairs: ReadonlyArray<readonly [number, number]>,
  from: VoiceStats,
  to: VoiceStats,
): PitchMapping | null {
  const voiced = pairs.filter(([i, j]) => base.f0[i]! > 0 && user.f0[j]! > 0);
  if (voiced.length < MIN_VOICED_PAIRS) return null;
  const x = withDeltas(continuousLogF0(base.f0), 0, 1);
  const y = withDeltas(continuousLogF0(user.f0), 0, 1);
  const first = voiced[0]![0];
  const cut = Math.round(first + 0.9 * (voiced[voiced.length - 1]![0] - first));
  const train = voiced.filter(([i]) => i < cut);
  const held = voiced.filter(([i]) => i >= cut);
  if (held.length < 50) return null;
  const xs = train.map(([i]) => x[i]!);
  const ys = train.map(([, j]) => y[j]!);
  const floor = varianceFloor(xs, ys);
  // Held-out error in log F0 (×1731 for cents) of converting the held-out stretch of the base track.
  const heldFrom = held[0]![0];
  const heldSource = x.slice(heldFrom, held[held.length - 1]![0] + 1);
  const heldError = (gmm: JointGmm): number => {
    const converted = convertWithGmm(gmm, heldSource);
    return rmse(held.map(([i, j]) => [converted[i - heldFrom]![0]!, Math.log(user.f0[j]!)] as const));
  };
  const baseline = rmse(held.map(([i, j]) => [meanVarianceLf0(Math.log(base.f0[i]!), from, to), Math.log(user.f0[j]!)] as const));
  let current = singleComponent(xs, ys, floor);
  let best = { gmm: current, error: heldError(current) };
  for (const size of SIZES) {
    while (current.components.length < size) current = splitComponents(current);
    for (let iter = 0; size > 1 && iter < EM_ITERATIONS; iter++) current = emStep(current, xs, ys, floor).gmm;
    const error = heldError(current);
    if (error < best.error) best = { gmm: current, error };
  }
  if (!(best.error < baseline * (1 - MIN_GAIN))) return null;
  return {
    components: best.gmm.components.map((c) => ({ weight: c.weight, mx: [...c.mx], my: [...c.my], sxx: [...c.sxx], sxy: [...c.sxy], syy: [...c.syy] })),
  };
}

export function pitchGmm(mapping: PitchMapping): JointGmm {
  return {
    components: mapping.components.map((c) => ({
      weight: c.weight,
      mx: Float64Array.from(c.mx),
      my: Float64Array.from(c.my),
      sxx: Float64Array.from(c.sxx),
      sxy: Float64Array.from(c.sxy),
      syy: Float64Array.from(c.syy),
    })),
  };
}

/** Base F0 → the user's through the pitch GMM; the base voice's voicing decisions are kept. */
export function convertPitch(f0: Float64Array, gmm: JointGmm): Float64Array {
  const converted = convertWithGmm(gmm, withDeltas(continuousLogF0(f0), 0, 1));
  return f0.map((f, t) => (f > 0 ? Math.exp(converted[t]![0]!) : 0));
}

/**
 * `variability` (0..1): how much the intonation may vary from the trained
 * mapping, like a sampling temperature. 0 is the mapping exactly; 1 widens the
 * clause's pitch excursions around its mean by 40 % and adds a slow random
 * drift of up to about two semitones. The randomness is seeded (per clause),
 * so the same request sounds the same.
 */
export function varyPitch(f0: Float64Array, variability: number, seed: number): Float64Array {
  const v = clamp(Number.isFinite(variability) ? variability : 0, 0, 1);
  if (v === 0) return f0;
  let sum = 0;
  let voiced = 0;
  for (const f of f0) {
    if (f <= 0) continue;
    sum += Math.log(f);
    voiced++;
  }
  if (voiced === 0) return f0;
  const mean = sum / voiced;
  const random = seeded(seed);
  const phases = [random() * 2 * Math.PI, random() * 2 * Math.PI];
  const periods = [0.9 + random(), 2.1 + random()]; // seconds
  return f0.map((f, t) => {
    if (!(f > 0)) return 0;
    const seconds = t * 0.005;
    const drift = 0.06 * (Math.sin((2 * Math.PI * seconds) / periods[0]! + phases[0]!) + Math.sin((2 * Math.PI * seconds) / periods[1]! + phases[1]!));
    return Math.exp(mean + (1 + 0.4 * v) * (Math.log(f) - mean) + v * drift);
  });
}

function seeded(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

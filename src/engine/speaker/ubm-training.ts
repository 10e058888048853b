import { componentLogLikelihoods, logSumExp, scorerOf, type DiagonalGmm } from './diagonal-gmm.ts';
import type { SpeakerFeatures } from './mfcc.ts';

const VARIANCE_FLOOR = 0.01;

/**
 * Trains the universal background model by EM with binary splitting (1 → 2 → … →
 * `components`): every split perturbs each mean by ±0.2 σ along all dimensions.
 * Used by scripts/train-speaker-ubm.ts, never at run time.
 */
export function trainUbm(
  features: readonly SpeakerFeatures[],
  components: number,
  iterationsPerSplit: number,
  log: (line: string) => void = () => undefined,
): DiagonalGmm {
  const dims = features[0]?.dims ?? 0;
  const frames = features.reduce((n, f) => n + f.frames, 0);
  const all = new Float32Array(frames * dims);
  let at = 0;
  for (const f of features) {
    all.set(f.data, at);
    at += f.data.length;
  }
  let gmm = singleGaussian(all, frames, dims);
  while (gmm.components < components) {
    gmm = split(gmm);
    for (let i = 0; i < iterationsPerSplit; i++) {
      const step = emStep(gmm, all, frames);
      gmm = step.gmm;
      log(`components ${gmm.components} iteration ${i + 1}: mean log-likelihood ${step.meanLogLikelihood.toFixed(3)}`);
    }
  }
  return gmm;
}

function singleGaussian(all: Float32Array, frames: number, dims: number): DiagonalGmm {
  const mean = new Float64Array(dims);
  const sq = new Float64Array(dims);
  for (let f = 0; f < frames; f++) {
    for (let d = 0; d < dims; d++) {
      const v = all[f * dims + d]!;
      mean[d] = mean[d]! + v;
      sq[d] = sq[d]! + v * v;
    }
  }
  const variances = new Float64Array(dims);
  for (let d = 0; d < dims; d++) {
    mean[d] = mean[d]! / frames;
    variances[d] = Math.max(sq[d]! / frames - mean[d]! * mean[d]!, VARIANCE_FLOOR);
  }
  return { components: 1, dims, weights: Float64Array.of(1), means: mean, variances };
}

function split(gmm: DiagonalGmm): DiagonalGmm {
  const { dims } = gmm;
  const components = gmm.components * 2;
  const weights = new Float64Array(components);
  const means = new Float64Array(components * dims);
  const variances = new Float64Array(components * dims);
  for (let c = 0; c < gmm.components; c++) {
    for (const [k, sign] of [
      [2 * c, 1],
      [2 * c + 1, -1],
    ] as const) {
      weights[k] = gmm.weights[c]! / 2;
      for (let d = 0; d < dims; d++) {
        const v = gmm.variances[c * dims + d]!;
        means[k * dims + d] = gmm.means[c * dims + d]! + sign * 0.2 * Math.sqrt(v);
        variances[k * dims + d] = v;
      }
    }
  }
  return { components, dims, weights, means, variances };
}

function emStep(gmm: DiagonalGmm, all: Float32Array, frames: number): { gmm: DiagonalGmm; meanLogLikelihood: number } {
  const { components, dims } = gmm;
  const scorer = scorerOf(gmm);
  const n = new Float64Array(components);
  const first = new Float64Array(components * dims);
  const second = new Float64Array(components * dims);
  const ll = new Float64Array(components);
  let total = 0;
  for (let f = 0; f < frames; f++) {
    componentLogLikelihoods(scorer, all, f * dims, ll);
    const norm = logSumExp(ll);
    total += norm;
    for (let c = 0; c < components; c++) {
      const post = Math.exp(ll[c]! - norm);
      if (post < 1e-6) continue;
      n[c] = n[c]! + post;
      for (let d = 0; d < dims; d++) {
        const v = all[f * dims + d]!;
        first[c * dims + d] = first[c * dims + d]! + post * v;
        second[c * dims + d] = second[c * dims + d]! + post * v * v;
      }
    }
  }
  const weights = new Float64Array(components);
  const means = new Float64Array(components * dims);
  const variances = new Float64Array(components * dims);
  for (let c = 0; c < components; c++) {
    const count = Math.max(n[c]!, 1e-3);
    weights[c] = count / frames;
    for (let d = 0; d < dims; d++) {
      const m = first[c * dims + d]! / count;
      means[c * dims + d] = m;
      variances[c * dims + d] = Math.max(second[c * dims + d]! / count - m * m, VARIANCE_FLOOR);
    }
  }
  return { gmm: { components, dims, weights, means, variances }, meanLogLikelihood: total / frames };
}

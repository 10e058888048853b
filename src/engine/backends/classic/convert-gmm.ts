import type { JointGmm } from './gmm.ts';
import { generateTrajectory } from './mlpg.ts';

/**
 * Converts a source sequence (static + delta per frame) with a joint GMM: per
 * frame, the conditional mean and variance of the target given the source,
 * moment-matched over the components' posteriors; then MLPG per dimension
 * turns static and delta statistics into a smooth static trajectory.
 */
export function convertWithGmm(gmm: JointGmm, source: readonly Float64Array[]): Float64Array[] {
  const frames = source.length;
  const dims = source[0]?.length ?? 0;
  const statics = dims / 2;
  const k = gmm.components.length;
  const marg = gmm.components.map((c) => {
    let constant = Math.log(Math.max(c.weight, 1e-300));
    const inv = new Float64Array(dims);
    const slope = new Float64Array(dims);
    const condVar = new Float64Array(dims);
    for (let d = 0; d < dims; d++) {
      constant += -0.5 * Math.log(2 * Math.PI * c.sxx[d]!);
      inv[d] = 1 / c.sxx[d]!;
      slope[d] = c.sxy[d]! / c.sxx[d]!;
      condVar[d] = Math.max(1e-8, c.syy[d]! - (c.sxy[d]! * c.sxy[d]!) / c.sxx[d]!);
    }
    return { constant, inv, slope, condVar, mx: c.mx, my: c.my };
  });
  const means = Array.from({ length: dims }, () => new Float64Array(frames));
  const precisions = Array.from({ length: dims }, () => new Float64Array(frames));
  const logs = new Float64Array(k);
  const post = new Float64Array(k);
  for (let t = 0; t < frames; t++) {
    const x = source[t]!;
    let max = -Infinity;
    for (let m = 0; m < k; m++) {
      const g = marg[m]!;
      let s = g.constant;
      for (let d = 0; d < dims; d++) {
        const dx = x[d]! - g.mx[d]!;
        s -= 0.5 * dx * dx * g.inv[d]!;
      }
      logs[m] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let m = 0; m < k; m++) {
      post[m] = Math.exp(logs[m]! - max);
      sum += post[m]!;
    }
    for (let m = 0; m < k; m++) post[m] = post[m]! / sum;
    for (let d = 0; d < dims; d++) {
      let mean = 0;
      let variance = 0;
      for (let m = 0; m < k; m++) {
        const p = post[m]!;
        if (p < 1e-6) continue;
        const g = marg[m]!;
        const e = g.my[d]! + g.slope[d]! * (x[d]! - g.mx[d]!);
        mean += p * e;
        variance += p * (g.condVar[d]! + e * e);
      }
      variance = Math.max(1e-8, variance - mean * mean);
      means[d]![t] = mean;
      precisions[d]![t] = 1 / variance;
    }
  }
  const out = Array.from({ length: frames }, () => new Float64Array(statics));
  for (let d = 0; d < statics; d++) {
    const y = generateTrajectory(means[d]!, precisions[d]!, means[statics + d]!, precisions[statics + d]!);
    for (let t = 0; t < frames; t++) out[t]![d] = y[t]!;
  }
  return out;
}

/**
 * Maximum-likelihood parameter generation for one feature dimension (Tokuda et
 * al. 2000; used for conversion by Toda et al. 2007): given per-frame means and
 * precisions of the static value and its delta, find the static trajectory y
 * maximising the likelihood, i.e. solve (W' P W) y = W' P mu. With the delta
 * window (-1/2, 0, 1/2) the system is pentadiagonal, solved by banded LDL'.
 */
export function generateTrajectory(
  staticMean: Float64Array,
  staticPrecision: Float64Array,
  deltaMean: Float64Array,
  deltaPrecision: Float64Array,
): Float64Array {
  const n = staticMean.length;
  // Symmetric band: a0[i] = A[i][i], a1[i] = A[i][i+1], a2[i] = A[i][i+2].
  const a0 = new Float64Array(n);
  const a1 = new Float64Array(n);
  const a2 = new Float64Array(n);
  const b = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    a0[t] = a0[t]! + staticPrecision[t]!;
    b[t] = b[t]! + staticPrecision[t]! * staticMean[t]!;
    const lo = Math.max(0, t - 1);
    const hi = Math.min(n - 1, t + 1);
    if (lo === hi) continue;
    // Delta row: -1/2 at lo, +1/2 at hi (clamped at the edges, as in deltas.ts).
    const p = deltaPrecision[t]!;
    a0[lo] = a0[lo]! + 0.25 * p;
    a0[hi] = a0[hi]! + 0.25 * p;
    const gap = hi - lo; // 1 or 2
    if (gap === 1) a1[lo] = a1[lo]! - 0.25 * p;
    else a2[lo] = a2[lo]! - 0.25 * p;
    b[lo] = b[lo]! - 0.5 * p * deltaMean[t]!;
    b[hi] = b[hi]! + 0.5 * p * deltaMean[t]!;
  }
  // Banded LDL' factorisation (bandwidth 2).
  const d = new Float64Array(n);
  const l1 = new Float64Array(n); // L[i+1][i]
  const l2 = new Float64Array(n); // L[i+2][i]
  for (let i = 0; i < n; i++) {
    let di = a0[i]!;
    if (i >= 1) di -= l1[i - 1]! * l1[i - 1]! * d[i - 1]!;
    if (i >= 2) di -= l2[i - 2]! * l2[i - 2]! * d[i - 2]!;
    d[i] = di;
    if (i + 1 < n) {
      let v = a1[i]!;
      if (i >= 1) v -= l2[i - 1]! * l1[i - 1]! * d[i - 1]!;
      l1[i] = v / di;
    }
    if (i + 2 < n) l2[i] = a2[i]! / di;
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = b[i]!;
    if (i >= 1) v -= l1[i - 1]! * y[i - 1]!;
    if (i >= 2) v -= l2[i - 2]! * y[i - 2]!;
    y[i] = v;
  }
  for (let i = 0; i < n; i++) y[i] = y[i]! / d[i]!;
  for (let i = n - 1; i >= 0; i--) {
    let v = y[i]!;
    if (i + 1 < n) v -= l1[i]! * y[i + 1]!;
    if (i + 2 < n) v -= l2[i]! * y[i + 2]!;
    y[i] = v;
  }
  return y;
}

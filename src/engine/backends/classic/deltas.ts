/**
 * Static + delta vectors for the conversion: delta_t = (x_{t+1} - x_{t-1}) / 2,
 * with the edges clamped. The same window defines MLPG's constraint matrix.
 */
export function withDeltas(frames: readonly Float64Array[], firstDim: number, endDim: number): Float64Array[] {
  const dims = endDim - firstDim;
  const out: Float64Array[] = [];
  const last = frames.length - 1;
  for (let t = 0; t <= last; t++) {
    const v = new Float64Array(2 * dims);
    const prev = frames[Math.max(0, t - 1)]!;
    const next = frames[Math.min(last, t + 1)]!;
    const cur = frames[t]!;
    for (let d = 0; d < dims; d++) {
      v[d] = cur[firstDim + d]!;
      v[dims + d] = 0.5 * (next[firstDim + d]! - prev[firstDim + d]!);
    }
    out.push(v);
  }
  return out;
}

/** Small level helpers shared by the analysis, the normaliser and the slicer. */

export function toDb(power: number): number {
  return power > 1e-12 ? 10 * Math.log10(power) : -120;
}

/** Mean power of each hop-sized frame. */
export function framePowers(samples: Float32Array, hop: number): Float64Array {
  const frames = Math.floor(samples.length / hop);
  const out = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    const base = f * hop;
    for (let i = 0; i < hop; i++) {
      const v = samples[base + i] ?? 0;
      sum += v * v;
    }
    out[f] = sum / hop;
  }
  return out;
}

export function percentile(values: Float64Array, fraction: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(fraction * (sorted.length - 1))))] ?? 0;
}

export function peak(samples: Float32Array): number {
  let p = 0;
  for (const v of samples) p = Math.max(p, Math.abs(v));
  return p;
}

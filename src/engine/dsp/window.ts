/** Periodic-free (symmetric) Hann window of `length` points, the analysis window used throughout. */
export function hann(length: number): Float64Array {
  const w = new Float64Array(length);
  if (length === 1) {
    w[0] = 1;
    return w;
  }
  for (let i = 0; i < length; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 1)) / (length + 1));
  return w;
}

const hannCache = new Map<number, Float64Array>();

/** Cached Hann window: the envelope analysis asks for the same few lengths thousands of times. */
export function cachedHann(length: number): Float64Array {
  let w = hannCache.get(length);
  if (!w) {
    w = hann(length);
    if (hannCache.size > 512) hannCache.clear();
    hannCache.set(length, w);
  }
  return w;
}

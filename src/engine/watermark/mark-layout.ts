/**
 * The shape of the Vocalis audio mark, shared by the embedder and the detector.
 *
 * Everything happens at 16 kHz (any input is resampled to it), in the band
 * 600–3300 Hz: inside the telephone band and inside what Opus SILK at 16 kbps
 * codes as a waveform. The mark is periodic with PERIOD samples (4.096 s), so a
 * detector folds any excerpt onto one period and finds its offset with a single
 * circular correlation, whatever was trimmed off the front.
 */
export const MARK_RATE = 16_000;
/** One mark cycle in samples at MARK_RATE: a power of two so the circular correlation is one FFT. */
export const PERIOD = 65_536;
/** Coded payload bits per cycle; each occupies SLOT_SAMPLES of the data carrier. */
export const SLOTS = 128;
export const SLOT_SAMPLES = PERIOD / SLOTS;
/** STFT frame of the spectral shaping and of the detector's whitening (32 ms, hop 16 ms). */
export const FRAME = 512;
export const HOP = FRAME / 2;
export const BAND_LOW_HZ = 600;
export const BAND_HIGH_HZ = 3000;
/** Bins of the FRAME-point STFT that carry the mark (edges tapered by `bandWeight`). */
export const BAND_FIRST_BIN = Math.floor((BAND_LOW_HZ * FRAME) / MARK_RATE);
export const BAND_LAST_BIN = Math.ceil((BAND_HIGH_HZ * FRAME) / MARK_RATE);

/** Raised-cosine taper over the two outermost bins at each band edge, so the mark has no hard spectral edge. */
export function bandWeight(bin: number): number {
  if (bin < BAND_FIRST_BIN || bin > BAND_LAST_BIN) return 0;
  const fromEdge = Math.min(bin - BAND_FIRST_BIN, BAND_LAST_BIN - bin);
  return fromEdge >= 2 ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * (fromEdge + 1)) / 3);
}

/** Square-root periodic Hann: analysis × synthesis sums to 1 at 50 % overlap. */
export function sqrtHann(size: number): Float64Array {
  const w = new Float64Array(size);
  for (let i = 0; i < size; i++) w[i] = Math.sqrt(0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size));
  return w;
}

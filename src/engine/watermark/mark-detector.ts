import { fftOfSize } from '../dsp/fft.ts';
import { markCarriers } from './carriers.ts';
import type { MarkKey } from './mark-key.ts';
import { MARK_RATE, PERIOD, SLOT_SAMPLES, SLOTS } from './mark-layout.ts';
import { decodePayload, type MarkPayload } from './payload.ts';
import { whiten } from './whitening.ts';

/**
 * Finds this deployment's mark in 16 kHz mono audio. The whitened excerpt is
 * folded onto one mark period, so one circular correlation with the pilot tries
 * every offset at once; the peak's height over the spread of all the other
 * offsets (a z-score) says whether the mark is there. At that offset each payload
 * slot is read by correlating with the data carrier, and the Viterbi decoder and
 * the CRC say whether the whole payload came through.
 */

/**
 * Presence threshold on the pilot's correlation magnitude in units of its Rayleigh
 * scale. Unmarked audio peaks near 4.7 (the largest of 65 536 Rayleigh offsets:
 * P(any > 7) ≈ 65 536·e^(−24.5) ≈ 1.5e-6 per excerpt in theory, thirty times fewer than
 * at 6.5, where a thousand checks would already expect a 6.2); the false-positive
 * bench measures it on every real recording.
 */
export const PRESENCE_THRESHOLD = 7;
/** Less than this much audio cannot show the mark reliably. */
export const MIN_SECONDS = 1;

export type MarkDetection =
  | { readonly status: 'absent'; readonly score: number }
  | { readonly status: 'too_short'; readonly seconds: number }
  /** The mark is there, but this excerpt does not give the whole payload back. */
  | { readonly status: 'present'; readonly score: number }
  | { readonly status: 'decoded'; readonly score: number; readonly payload: MarkPayload };

export interface DetectionDetail {
  readonly detection: MarkDetection;
  /** Signed soft values of the coded bits in code order (0 where the excerpt did not reach). */
  readonly soft: Float64Array;
  readonly offset: number;
}

export function detectMark(samples: Float32Array, sampleRate: number, key: MarkKey): MarkDetection {
  return detectMarkDetail(samples, sampleRate, key).detection;
}

export function detectMarkDetail(samples: Float32Array, sampleRate: number, key: MarkKey): DetectionDetail {
  if (sampleRate !== MARK_RATE) throw new RangeError(`the detector works on ${MARK_RATE} Hz audio`);
  const soft = new Float64Array(SLOTS);
  const seconds = samples.length / sampleRate;
  if (seconds < MIN_SECONDS) return { detection: { status: 'too_short', seconds }, soft, offset: 0 };
  const carriers = markCarriers(key);
  const white = whiten(samples);

  const foldRe = new Float64Array(PERIOD);
  const foldIm = new Float64Array(PERIOD);
  for (let n = 0; n < white.length; n++) foldRe[n % PERIOD] = foldRe[n % PERIOD]! + white[n]!;
  const folded = Float64Array.from(foldRe);

  // corr[τ] = Σ_r F[r]·pilot[(r+τ) mod P] = IFFT(conj(FFT F) · FFT pilot)
  const fft = fftOfSize(PERIOD);
  fft.transform(foldRe, foldIm);
  for (let k = 0; k < PERIOD; k++) {
    const a = foldRe[k]!;
    const b = -foldIm[k]!;
    const c = carriers.pilotRe[k]!;
    const d = carriers.pilotIm[k]!;
    foldRe[k] = a * c - b * d;
    foldIm[k] = a * d + b * c;
  }
  // Analytic correlation (positive frequencies only): its magnitude does not care about a
  // fractional-sample offset or a codec's phase shift, and its phase at the peak says both.
  foldRe[0] = 0;
  foldIm[0] = 0;
  for (let k = 1; k < PERIOD / 2; k++) {
    foldRe[k] = 2 * foldRe[k]!;
    foldIm[k] = 2 * foldIm[k]!;
  }
  foldRe.fill(0, PERIOD / 2);
  foldIm.fill(0, PERIOD / 2);
  fft.transform(foldRe, foldIm, true);
  const magnitude = new Float64Array(PERIOD);
  let offset = 0;
  for (let t = 0; t < PERIOD; t++) {
    magnitude[t] = Math.hypot(foldRe[t]!, foldIm[t]!);
    if (magnitude[t]! > magnitude[offset]!) offset = t;
  }
  const spread = rayleighScale(magnitude);
  const score = spread > 0 ? magnitude[offset]! / spread : 0;
  if (!(score >= PRESENCE_THRESHOLD)) return { detection: { status: 'absent', score }, soft, offset };

  // Rotate each slot's analytic correlation by the pilot's phase at the peak: real part is the bit.
  const phaseRe = foldRe[offset]! / magnitude[offset]!;
  const phaseIm = foldIm[offset]! / magnitude[offset]!;
  const bySlot = new Float64Array(SLOTS);
  for (let q = 0; q < PERIOD; q++) {
    const r = (q - offset + PERIOD) % PERIOD;
    const v = folded[r]!;
    const slot = Math.floor(q / SLOT_SAMPLES);
    bySlot[slot] = bySlot[slot]! + v * (phaseRe * carriers.dataAnalyticRe[q]! + phaseIm * carriers.dataAnalyticIm[q]!);
  }
  const slotSpread = Math.sqrt(bySlot.reduce((s, v) => s + v * v, 0) / SLOTS) || 1;
  for (let i = 0; i < SLOTS; i++) soft[i] = bySlot[carriers.slotOfBit[i]!]! / slotSpread;
  const payload = decodePayload(soft);
  const detection: MarkDetection = payload && payload.keyId === key.keyId ? { status: 'decoded', score, payload } : { status: 'present', score };
  return { detection, soft, offset };
}

/**
 * The scale σ of the correlation's magnitude over all offsets: unmarked offsets are
 * Rayleigh-distributed, whose median is σ·√(2 ln 2); the median ignores the one peak.
 */
function rayleighScale(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.floor(sorted.length / 2)]! / Math.sqrt(2 * Math.LN2);
}

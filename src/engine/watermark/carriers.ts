import { fftOfSize } from '../dsp/fft.ts';
import { keyedUniforms } from './keyed-stream.ts';
import type { MarkKey } from './mark-key.ts';
import { BAND_HIGH_HZ, BAND_LOW_HZ, MARK_RATE, PERIOD, SLOTS } from './mark-layout.ts';

/**
 * The keyed noise the mark is made of: a pilot (the same in every mark of this
 * deployment: it tells presence and the offset) and a data carrier whose slots
 * are signed by the coded payload bits. Both are periodic, flat-spectrum noise in
 * the mark band with unit RMS, with random phases from the key, so without the
 * key they look like any other noise.
 */
export interface MarkCarriers {
  readonly pilot: Float32Array;
  readonly data: Float32Array;
  /** Slot (0..SLOTS-1) that carries coded bit i: a keyed interleaving so a silent stretch costs scattered bits. */
  readonly slotOfBit: Uint16Array;
  /** The pilot's spectrum (PERIOD-point FFT), for the detector's circular correlation. */
  readonly pilotRe: Float64Array;
  readonly pilotIm: Float64Array;
  /** The data carrier's analytic signal (carrier + j·Hilbert transform), to read slots at any phase. */
  readonly dataAnalyticRe: Float32Array;
  readonly dataAnalyticIm: Float32Array;
}

const cache = new Map<string, MarkCarriers>();

export function markCarriers(key: MarkKey): MarkCarriers {
  const id = Buffer.from(key.secret).toString('hex');
  let carriers = cache.get(id);
  if (!carriers) {
    const pilot = bandNoise(key.secret, 'pilot');
    const data = bandNoise(key.secret, 'data');
    const re = new Float64Array(PERIOD);
    const im = new Float64Array(PERIOD);
    re.set(pilot);
    fftOfSize(PERIOD).transform(re, im);
    const analytic = analyticSignal(data);
    carriers = { pilot, data, slotOfBit: slotOrder(key.secret), pilotRe: re, pilotIm: im, dataAnalyticRe: analytic.re, dataAnalyticIm: analytic.im };
    cache.set(id, carriers);
  }
  return carriers;
}

function bandNoise(secret: Uint8Array, purpose: string): Float32Array {
  const first = Math.ceil((BAND_LOW_HZ * PERIOD) / MARK_RATE);
  const last = Math.floor((BAND_HIGH_HZ * PERIOD) / MARK_RATE);
  const phases = keyedUniforms(secret, `carrier:${purpose}`, last - first + 1);
  const re = new Float64Array(PERIOD);
  const im = new Float64Array(PERIOD);
  for (let k = first; k <= last; k++) {
    const phi = 2 * Math.PI * phases[k - first]!;
    re[k] = Math.cos(phi);
    im[k] = Math.sin(phi);
    re[PERIOD - k] = Math.cos(phi);
    im[PERIOD - k] = -Math.sin(phi);
  }
  fftOfSize(PERIOD).transform(re, im, true);
  let power = 0;
  for (let i = 0; i < PERIOD; i++) power += re[i]! * re[i]!;
  const scale = 1 / Math.sqrt(power / PERIOD);
  const out = new Float32Array(PERIOD);
  for (let i = 0; i < PERIOD; i++) out[i] = re[i]! * scale;
  return out;
}

function slotOrder(secret: Uint8Array): Uint16Array {
  const order = new Uint16Array(SLOTS);
  for (let i = 0; i < SLOTS; i++) order[i] = i;
  const u = keyedUniforms(secret, 'slot-order', SLOTS);
  for (let i = SLOTS - 1; i > 0; i--) {
    const j = Math.floor(u[i]! * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

function analyticSignal(x: Float32Array): { re: Float32Array; im: Float32Array } {
  const re = Float64Array.from(x);
  const im = new Float64Array(PERIOD);
  const fft = fftOfSize(PERIOD);
  fft.transform(re, im);
  re[0] = 0;
  im[0] = 0;
  for (let k = 1; k < PERIOD / 2; k++) {
    re[k] = 2 * re[k]!;
    im[k] = 2 * im[k]!;
  }
  re.fill(0, PERIOD / 2);
  im.fill(0, PERIOD / 2);
  fft.transform(re, im, true);
  return { re: Float32Array.from(re), im: Float32Array.from(im) };
}

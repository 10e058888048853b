import { FFT_SIZE, SAMPLE_RATE } from './constants.ts';
import { realFftOfSize } from '../dsp/real-fft.ts';
import { cachedHann } from '../dsp/window.ts';

/**
 * Smooth spectral envelope of one frame, after the design of WORLD's CheapTrick:
 * a pitch-adaptive window of three periods, a rectangular smoothing of width
 * 2/3 F0 across frequency, then cepstral liftering that removes the harmonic
 * ripple while compensating the smoothing's loss of peaks. The result is a
 * causal cepstrum of the log amplitude (SPTK convention), ready for the
 * mel-cepstrum transform. The envelope is a power spectral density, so a pulse
 * train of period T shaped by sqrt(T * P) reproduces it.
 */

/** F0 assumed for unvoiced frames, as in CheapTrick. */
const UNVOICED_F0 = 500;
const COMPENSATION_Q0 = -0.15;
/** Quefrencies kept (20 ms): enough for a 24th-order mel-cepstrum at 16 kHz. */
const CEPSTRUM_LENGTH = 320;

export class EnvelopeAnalyser {
  readonly #frame = new Float64Array(FFT_SIZE);
  readonly #re = new Float64Array(FFT_SIZE / 2 + 1);
  readonly #im = new Float64Array(FFT_SIZE / 2 + 1);
  readonly #power = new Float64Array(FFT_SIZE / 2 + 1);
  readonly #cumulative: Float64Array;
  readonly #pad = FFT_SIZE / 4;

  constructor() {
    this.#cumulative = new Float64Array(FFT_SIZE / 2 + 1 + 2 * this.#pad);
  }

  /** Causal log-amplitude cepstrum (the first CEPSTRUM_LENGTH quefrencies) of the frame centred at `center`. */
  cepstrum(x: Float32Array, center: number, f0: number): Float64Array {
    const fft = realFftOfSize(FFT_SIZE);
    const frame = this.#frame;
    const f = f0 > 0 ? f0 : UNVOICED_F0;
    const half = Math.min(FFT_SIZE / 2 - 1, Math.round((1.5 * SAMPLE_RATE) / f));
    const length = 2 * half + 1;
    const w = cachedHann(length);
    const re = this.#re;
    const im = this.#im;
    frame.fill(0);
    // Window, remove the weighted mean (no DC leaking into low bins), place centred at index 0.
    let weighted = 0;
    let wSum = 0;
    let wSq = 0;
    for (let j = 0; j < length; j++) {
      const idx = center - half + j;
      const v = idx >= 0 && idx < x.length ? x[idx]! : 0;
      weighted += w[j]! * v;
      wSum += w[j]!;
      wSq += w[j]! * w[j]!;
    }
    const mean = weighted / wSum;
    for (let j = 0; j < length; j++) {
      const idx = center - half + j;
      const v = idx >= 0 && idx < x.length ? x[idx]! : 0;
      const pos = (j - half + FFT_SIZE) % FFT_SIZE;
      frame[pos] = w[j]! * (v - mean);
    }
    fft.forward(frame, re, im);
    const bins = FFT_SIZE / 2 + 1;
    const power = this.#power;
    for (let k = 0; k < bins; k++) power[k] = (re[k]! * re[k]! + im[k]! * im[k]!) / wSq;
    this.#smooth(power, (2 * f) / 3 / (SAMPLE_RATE / FFT_SIZE));
    // Log amplitude, symmetric, then back to quefrency.
    for (let k = 0; k < bins; k++) {
      const la = 0.5 * Math.log(power[k]! + 1e-12);
      re[k] = la;
      im[k] = 0;
    }
    fft.inverse(re, im, frame);
    // Only the low quefrencies survive the mel warping to order 24; the rest is
    // dropped to save work in the frequency transform.
    const out = new Float64Array(CEPSTRUM_LENGTH);
    out[0] = frame[0]!;
    // sin(q*theta) and cos(q*theta) by rotation rather than per-quefrency calls.
    const theta = (Math.PI * f) / SAMPLE_RATE;
    const cosStep = Math.cos(theta);
    const sinStep = Math.sin(theta);
    let sq = 0;
    let cq = 1;
    for (let q = 1; q < CEPSTRUM_LENGTH; q++) {
      const sNext = sq * cosStep + cq * sinStep;
      cq = cq * cosStep - sq * sinStep;
      sq = sNext;
      const smoothing = sq / (q * theta);
      const compensation = 1 - 2 * COMPENSATION_Q0 + 2 * COMPENSATION_Q0 * (2 * cq * cq - 1);
      out[q] = 2 * frame[q]! * smoothing * compensation;
    }
    return out;
  }

  /** Rectangular smoothing of `widthBins` across frequency, mirrored at DC and Nyquist. */
  #smooth(power: Float64Array, widthBins: number): void {
    const bins = power.length;
    const pad = this.#pad;
    const cum = this.#cumulative;
    let acc = 0;
    for (let i = 0; i < bins + 2 * pad; i++) {
      let k = i - pad;
      if (k < 0) k = -k;
      if (k > bins - 1) k = 2 * (bins - 1) - k;
      acc += power[k]!;
      cum[i] = acc;
    }
    const halfWidth = Math.min(pad - 1, widthBins / 2);
    const at = (pos: number): number => {
      const i = Math.floor(pos);
      const frac = pos - i;
      return cum[i]! + frac * (cum[i + 1]! - cum[i]!);
    };
    for (let k = 0; k < bins; k++) {
      const center = k + pad;
      power[k] = (at(center + halfWidth) - at(center - halfWidth)) / (2 * halfWidth);
    }
  }
}

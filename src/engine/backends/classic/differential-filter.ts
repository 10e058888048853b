import { realFftOfSize } from '../../dsp/real-fft.ts';
import { FRAME_SHIFT } from '../../features/constants.ts';
import { melCepstrumToCepstrum } from '../../features/melcep.ts';
import { softLimit } from './soft-limit.ts';

/**
 * Differential spectral compensation (DIFFVC, after Kobayashi et al.): instead
 * of resynthesising the converted spectrum with the vocoder, the base voice's
 * own waveform is filtered by the difference between the converted and the
 * original mel-cepstrum, frame by frame. The fine structure (harmonics, bursts,
 * the synthesiser's own excitation and phase) stays the base voice's, so
 * nothing of it is smeared by analysis and resynthesis.
 *
 * Short-time overlap-add: each 5 ms frame of the signal (a 20 ms Hann window,
 * which sums to 2 at a quarter-window hop) is multiplied in the frequency
 * domain by the minimum-phase filter whose log amplitude is that frame's
 * mel-cepstral difference; the FFT is long enough for the filter's tail.
 */

const WINDOW = 4 * FRAME_SHIFT;
const FFT_SIZE = 1024;
/** Cepstral order of the filter: the difference is a smooth (order-24 mel-cepstral) curve, so its cepstrum dies out long before this. */
const FILTER_ORDER = 255;

const window = (() => {
  const w = new Float64Array(WINDOW);
  // Periodic Hann: overlapping copies at a hop of WINDOW / 4 sum to exactly 2.
  for (let n = 0; n < WINDOW; n++) w[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / WINDOW);
  return w;
})();
const WINDOW_SUM = 2;

/**
 * Filters `pcm` by per-frame log-amplitude differences, each a mel-cepstrum
 * c0..c24 (SPTK convention, natural log) for the frame centred at
 * t · FRAME_SHIFT; an all-zero difference returns the input (up to rounding).
 */
export function filterBySpectralDifference(pcm: Float32Array, difference: readonly Float64Array[]): Float32Array {
  if (difference.length === 0 || pcm.length === 0) return Float32Array.from(pcm);
  const fft = realFftOfSize(FFT_SIZE);
  const half = FFT_SIZE / 2;
  const out = new Float64Array(pcm.length);
  const frame = new Float64Array(FFT_SIZE);
  const cepstrum = new Float64Array(FFT_SIZE);
  const re = new Float64Array(half + 1);
  const im = new Float64Array(half + 1);
  const logRe = new Float64Array(half + 1);
  const logIm = new Float64Array(half + 1);
  const frames = Math.ceil(pcm.length / FRAME_SHIFT) + 1;
  for (let t = 0; t < frames; t++) {
    const start = t * FRAME_SHIFT - WINDOW / 2;
    frame.fill(0);
    for (let n = 0; n < WINDOW; n++) {
      const i = start + n;
      if (i >= 0 && i < pcm.length) frame[n] = pcm[i]! * window[n]!;
    }
    fft.forward(frame, re, im);
    // exp of the causal cepstrum's spectrum: the minimum-phase response with that log amplitude.
    const filter = melCepstrumToCepstrum(difference[Math.min(difference.length - 1, t)]!, FILTER_ORDER);
    cepstrum.fill(0);
    cepstrum.set(filter);
    fft.forward(cepstrum, logRe, logIm);
    for (let k = 0; k <= half; k++) {
      const magnitude = Math.exp(logRe[k]!);
      const hr = magnitude * Math.cos(logIm[k]!);
      const hi = magnitude * Math.sin(logIm[k]!);
      const xr = re[k]!;
      const xi = im[k]!;
      re[k] = xr * hr - xi * hi;
      im[k] = xr * hi + xi * hr;
    }
    fft.inverse(re, im, frame);
    for (let j = 0; j < FFT_SIZE; j++) {
      const i = start + j;
      if (i >= 0 && i < out.length) out[i] = out[i]! + frame[j]! / WINDOW_SUM;
    }
  }
  const result = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) result[i] = softLimit(out[i]!);
  return result;
}

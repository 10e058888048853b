import { FRAME_SHIFT, SAMPLE_RATE } from '../../features/constants.ts';
import { realFftOfSize } from '../../dsp/real-fft.ts';
import type { Features } from '../../features/analysis.ts';
import { melCepstrumToCepstrum } from '../../features/melcep.ts';
import { softLimit } from './soft-limit.ts';

/**
 * Source-filter resynthesis after WORLD's design: one minimum-phase response
 * per excitation event (a pitch pulse when voiced, every 5 ms when not), mixing
 * a pulse weighted by (1 - aperiodicity) and white noise weighted by
 * aperiodicity, shaped by the frame's envelope, and overlap-added.
 */

/** Aperiodicity rises with frequency: the high bands of voiced speech are mostly noise. */
const APERIODICITY_CORNER_HZ = 2500;
/** Holds the longest period (267 samples at 60 Hz) plus the filter's decay. */
const FFT_SIZE = 512;

/** Small deterministic PRNG so the same request renders the same audio. */
function gaussianSource(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const uniform = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

export function synthesise(features: Features, seed = 1): Float32Array {
  const frames = features.f0.length;
  const length = frames * FRAME_SHIFT;
  const out = new Float64Array(length + FFT_SIZE);
  const fft = realFftOfSize(FFT_SIZE);
  const half = FFT_SIZE / 2;
  const buf = new Float64Array(FFT_SIZE);
  const re = new Float64Array(half + 1);
  const im = new Float64Array(half + 1);
  const nRe = new Float64Array(half + 1);
  const nIm = new Float64Array(half + 1);
  const apShape = new Float64Array(half + 1);
  for (let k = 0; k <= half; k++) apShape[k] = Math.exp((k * SAMPLE_RATE) / FFT_SIZE / APERIODICITY_CORNER_HZ);
  const noise = gaussianSource(seed);
  const order = features.mcep[0]?.length ?? 0;
  const mc = new Float64Array(order);

  let t = 0;
  while (t < length) {
    const pos = t / FRAME_SHIFT;
    const i0 = Math.min(frames - 1, Math.floor(pos));
    const i1 = Math.min(frames - 1, i0 + 1);
    const frac = pos - i0;
    const f0a = features.f0[i0]!;
    const f0b = features.f0[i1]!;
    const nearest = frac < 0.5 ? i0 : i1;
    const voiced = features.f0[nearest]! > 0;
    const f0 = voiced ? (f0a > 0 && f0b > 0 ? f0a + frac * (f0b - f0a) : features.f0[nearest]!) : 0;
    const period = voiced ? SAMPLE_RATE / f0 : FRAME_SHIFT;
    const interval = Math.max(1, Math.round(period));

    // Envelope at this instant: mel-cepstra interpolated between frames.
    const ma = features.mcep[i0]!;
    const mb = features.mcep[i1]!;
    for (let m = 0; m < order; m++) mc[m] = ma[m]! + frac * (mb[m]! - ma[m]!);
    const cep = melCepstrumToCepstrum(mc, half);
    buf.fill(0);
    for (let q = 0; q <= half; q++) buf[q] = cep[q]!;
    fft.forward(buf, re, im); // complex log spectrum of the minimum-phase filter

    buf.fill(0);
    for (let j = 0; j < interval && j < FFT_SIZE; j++) buf[j] = noise();
    fft.forward(buf, nRe, nIm);

    const apLow = voiced ? features.aperiodicity[nearest]! : 1;
    const pulseGain = Math.sqrt(interval);
    const start = Math.floor(t);
    // Sub-sample pulse position as a linear phase: rounding positions would add
    // period jitter that reads as roughness (and as octave errors to F0 trackers).
    const delay = (2 * Math.PI * (t - start)) / FFT_SIZE;
    for (let k = 0; k <= half; k++) {
      const a = voiced ? Math.min(1, Math.max(0.001, apLow * apShape[k]!)) : 1;
      const mag = Math.exp(re[k]!);
      const hr = mag * Math.cos(im[k]!);
      const hi = mag * Math.sin(im[k]!);
      const na = Math.sqrt(a);
      const pulse = voiced ? pulseGain * Math.sqrt(1 - a) : 0;
      const er = pulse * Math.cos(k * delay) + na * nRe[k]!;
      const ei = -pulse * Math.sin(k * delay) + na * nIm[k]!;
      re[k] = hr * er - hi * ei;
      im[k] = hr * ei + hi * er;
    }
    fft.inverse(re, im, buf);
    for (let j = 0; j < FFT_SIZE && start + j < out.length; j++) out[start + j] = out[start + j]! + buf[j]!;
    t += voiced ? period : FRAME_SHIFT;
  }
  const result = new Float32Array(length);
  for (let i = 0; i < length; i++) result[i] = softLimit(out[i]!);
  return result;
}

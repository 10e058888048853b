import { RealFft } from '../dsp/real-fft.ts';
import { resample } from '../audio/resampler.ts';
import type { PcmChunk } from '../pcm.ts';
import { voicedFrames } from './voiced-frames.ts';

/** Speaker features are computed at 16 kHz: what LibriSpeech (the background model's data) has. */
export const FEATURE_RATE = 16_000;
const FRAME = 400; // 25 ms
const HOP = 160; // 10 ms
const FFT_SIZE = 512;
const MEL_FILTERS = 26;
/** c1..c19: c0 (loudness) says nothing about who speaks. */
const CEPSTRA = 19;
const DELTA_SPAN = 2;

/** MFCC + delta features of the voiced frames, mean- and variance-normalised per recording. */
export interface SpeakerFeatures {
  readonly dims: number;
  readonly frames: number;
  /** frames × dims, row-major. */
  readonly data: Float32Array;
}

export const FEATURE_DIMS = CEPSTRA * 2;

const fft = new RealFft(FFT_SIZE);
const window = Float64Array.from({ length: FRAME }, (_, n) => 0.54 - 0.46 * Math.cos((2 * Math.PI * n) / (FRAME - 1)));
const melBank = buildMelBank();
const dct = Float64Array.from({ length: CEPSTRA * MEL_FILTERS }, (_, i) => {
  const k = Math.floor(i / MEL_FILTERS) + 1;
  const m = i % MEL_FILTERS;
  return Math.cos((Math.PI * k * (m + 0.5)) / MEL_FILTERS);
});

export function speakerFeatures(pcm: PcmChunk): SpeakerFeatures {
  const x = resample(pcm.samples, pcm.sampleRate, FEATURE_RATE);
  const count = x.length < FRAME ? 0 : Math.floor((x.length - FRAME) / HOP) + 1;
  const ceps = new Float64Array(count * CEPSTRA);
  const energyDb = new Float64Array(count);
  const frame = new Float64Array(FFT_SIZE);
  const re = new Float64Array(FFT_SIZE / 2 + 1);
  const im = new Float64Array(FFT_SIZE / 2 + 1);
  const power = new Float64Array(FFT_SIZE / 2 + 1);
  const logMel = new Float64Array(MEL_FILTERS);
  for (let f = 0; f < count; f++) {
    const start = f * HOP;
    let energy = 0;
    frame.fill(0);
    let previous = start > 0 ? x[start - 1]! : 0;
    for (let n = 0; n < FRAME; n++) {
      const sample = x[start + n]!;
      frame[n] = (sample - 0.97 * previous) * window[n]!;
      previous = sample;
      energy += sample * sample;
    }
    energyDb[f] = 10 * Math.log10(energy / FRAME + 1e-12);
    fft.forward(frame, re, im);
    for (let k = 0; k < power.length; k++) power[k] = re[k]! * re[k]! + im[k]! * im[k]!;
    for (let m = 0; m < MEL_FILTERS; m++) {
      const filter = melBank[m]!;
      let sum = 0;
      for (let k = filter.from; k < filter.from + filter.weights.length; k++) sum += power[k]! * filter.weights[k - filter.from]!;
      logMel[m] = Math.log(sum + 1e-10);
    }
    for (let c = 0; c < CEPSTRA; c++) {
      let sum = 0;
      for (let m = 0; m < MEL_FILTERS; m++) sum += dct[c * MEL_FILTERS + m]! * logMel[m]!;
      ceps[f * CEPSTRA + c] = sum;
    }
  }
  const voiced = voicedFrames(energyDb);
  return normalise(withDeltas(ceps, count), voiced);
}

function withDeltas(ceps: Float64Array, count: number): Float64Array {
  const out = new Float64Array(count * FEATURE_DIMS);
  const norm = 2 * Array.from({ length: DELTA_SPAN }, (_, i) => (i + 1) ** 2).reduce((a, b) => a + b, 0);
  for (let f = 0; f < count; f++) {
    for (let c = 0; c < CEPSTRA; c++) {
      out[f * FEATURE_DIMS + c] = ceps[f * CEPSTRA + c]!;
      let delta = 0;
      for (let d = 1; d <= DELTA_SPAN; d++) {
        const ahead = ceps[Math.min(count - 1, f + d) * CEPSTRA + c]!;
        const behind = ceps[Math.max(0, f - d) * CEPSTRA + c]!;
        delta += d * (ahead - behind);
      }
      out[f * FEATURE_DIMS + CEPSTRA + c] = delta / norm;
    }
  }
  return out;
}

/** Keeps the voiced frames and normalises each dimension over them: removes the microphone's colour. */
function normalise(all: Float64Array, voiced: readonly number[]): SpeakerFeatures {
  const dims = FEATURE_DIMS;
  const data = new Float32Array(voiced.length * dims);
  if (voiced.length === 0) return { dims, frames: 0, data };
  const mean = new Float64Array(dims);
  const sq = new Float64Array(dims);
  for (const f of voiced) {
    for (let d = 0; d < dims; d++) {
      const v = all[f * dims + d]!;
      mean[d] = mean[d]! + v;
      sq[d] = sq[d]! + v * v;
    }
  }
  const n = voiced.length;
  const scale = new Float64Array(dims);
  for (let d = 0; d < dims; d++) {
    mean[d] = mean[d]! / n;
    scale[d] = 1 / Math.sqrt(Math.max(sq[d]! / n - mean[d]! * mean[d]!, 1e-8));
  }
  voiced.forEach((f, row) => {
    for (let d = 0; d < dims; d++) data[row * dims + d] = (all[f * dims + d]! - mean[d]!) * scale[d]!;
  });
  return { dims, frames: n, data };
}

interface MelFilter {
  readonly from: number;
  readonly weights: Float64Array;
}

function buildMelBank(): MelFilter[] {
  const mel = (hz: number) => 1127 * Math.log(1 + hz / 700);
  const hz = (m: number) => 700 * (Math.exp(m / 1127) - 1);
  const low = mel(100);
  const high = mel(7600);
  const edges = Array.from({ length: MEL_FILTERS + 2 }, (_, i) => (hz(low + ((high - low) * i) / (MEL_FILTERS + 1)) * FFT_SIZE) / FEATURE_RATE);
  return Array.from({ length: MEL_FILTERS }, (_, m) => {
    const [left, centre, right] = [edges[m]!, edges[m + 1]!, edges[m + 2]!];
    const from = Math.ceil(left);
    const to = Math.floor(right);
    const weights = new Float64Array(Math.max(0, to - from + 1));
    for (let k = from; k <= to; k++) {
      weights[k - from] = k <= centre ? (k - left) / (centre - left) : (right - k) / (right - centre);
    }
    return { from, weights };
  });
}

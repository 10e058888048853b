import type { PcmChunk } from '../pcm.ts';
import { normaliseLoudness } from './loudness.ts';
import { analyseSample } from './sample-analysis.ts';
import type { SampleAnalysis } from './sample-analysis.ts';
import { sliceAtPauses } from './slicer.ts';
import type { Slice, SliceOptions } from './slicer.ts';
import { detectSpeech } from './vad.ts';
import type { SpeechSegment, VadResult } from './vad.ts';

/**
 * Joins a user's clips (voice messages, voice-channel bursts) into one sample:
 * VAD over the joined audio, pauses longer than `maxPauseSeconds` shortened,
 * loudness normalised (speech RMS, see loudness.ts), then sliced for training.
 * The analysis is taken on the joined audio before any processing, because
 * clipping and the noise floor must be judged as recorded.
 */
export interface ClipInput extends PcmChunk {
  /** The rate the clip was recorded at (for the low-sample-rate check); defaults to its own rate. */
  readonly sourceSampleRate?: number;
}

export interface AssembleOptions {
  /** Rate of the assembled sample; clips must already be at it (decodeAudio does that). */
  readonly sampleRate: number;
  readonly maxPauseSeconds?: number;
  readonly targetLoudnessDb?: number;
  readonly slice?: SliceOptions;
  readonly signal?: AbortSignal;
}

export interface AssembledSample {
  /** Trimmed and normalised audio. */
  readonly pcm: PcmChunk;
  readonly analysis: SampleAnalysis;
  readonly vad: VadResult;
  readonly slices: Slice[];
  readonly gainDb: number;
}

/** Silence put between clips so the VAD sees each clip end. */
const CLIP_GAP_SECONDS = 0.2;

export function joinClips(clips: readonly PcmChunk[], sampleRate: number): PcmChunk {
  const gap = Math.round(CLIP_GAP_SECONDS * sampleRate);
  let total = 0;
  for (const clip of clips) {
    if (clip.sampleRate !== sampleRate) throw new RangeError(`clip at ${clip.sampleRate} Hz, expected ${sampleRate} Hz`);
    total += clip.samples.length;
  }
  const out = new Float32Array(total + gap * Math.max(0, clips.length - 1));
  let at = 0;
  clips.forEach((clip, i) => {
    out.set(clip.samples, at);
    at += clip.samples.length + (i < clips.length - 1 ? gap : 0);
  });
  return { samples: out, sampleRate };
}

/** Keeps speech and at most `maxPause` of each pause (half on each side of it). */
export function trimPauses(pcm: PcmChunk, segments: readonly SpeechSegment[], maxPause: number): PcmChunk {
  if (segments.length === 0) return { samples: new Float32Array(0), sampleRate: pcm.sampleRate };
  const rate = pcm.sampleRate;
  const parts: Array<[number, number]> = [];
  const half = maxPause / 2;
  segments.forEach((seg, i) => {
    const prev = segments[i - 1];
    const next = segments[i + 1];
    const start = prev ? Math.max(seg.start - half, (prev.end + seg.start) / 2) : Math.max(0, seg.start - half);
    const end = next ? Math.min(seg.end + half, (seg.end + next.start) / 2) : Math.min(pcm.samples.length / rate, seg.end + half);
    parts.push([Math.floor(start * rate), Math.ceil(end * rate)]);
  });
  const total = parts.reduce((sum, [a, b]) => sum + Math.max(0, b - a), 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const [a, b] of parts) {
    out.set(pcm.samples.subarray(a, b), at);
    at += Math.max(0, b - a);
  }
  return { samples: out, sampleRate: rate };
}

export async function assembleSample(clips: readonly ClipInput[], options: AssembleOptions): Promise<AssembledSample> {
  const joined = joinClips(clips, options.sampleRate);
  const sourceRate = clips.reduce((min, c) => Math.min(min, c.sourceSampleRate ?? c.sampleRate), Number.POSITIVE_INFINITY);
  const vad = await detectSpeech(joined, { signal: options.signal });
  const analysis = analyseSample(joined, vad, Number.isFinite(sourceRate) ? sourceRate : 0);
  const trimmed = trimPauses(joined, vad.segments, options.maxPauseSeconds ?? 0.6);
  // Speech segments of the trimmed audio are all of it but the kept pauses; normalise on the original ones.
  const { gainDb } = normaliseLoudness(joined, vad.segments, options.targetLoudnessDb ?? -20);
  const gain = 10 ** (gainDb / 20);
  const samples = new Float32Array(trimmed.samples.length);
  for (let i = 0; i < samples.length; i++) samples[i] = (trimmed.samples[i] ?? 0) * gain;
  const pcm = { samples, sampleRate: options.sampleRate };
  return { pcm, analysis, vad, slices: sliceAtPauses(pcm, options.slice), gainDb };
}

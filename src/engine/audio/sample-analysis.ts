import type { PcmChunk } from '../pcm.ts';
import { framePowers, percentile, toDb } from './levels.ts';
import type { SpeechSegment, VadResult } from './vad.ts';

/** Measurements of a voice sample that the quality verdict judges. */
export interface SampleAnalysis {
  readonly totalSeconds: number;
  readonly netSpeechSeconds: number;
  /** Net speech / total duration, 0..1. */
  readonly speechFraction: number;
  /** Share of samples inside clipped runs (≥ 3 consecutive samples at full scale), 0..1. */
  readonly clippedFraction: number;
  /** RMS level of the speech segments, dBFS. */
  readonly speechLevelDb: number;
  /** Speech power over the noise floor (10th percentile of 20 ms frame powers), dB. */
  readonly snrDb: number;
  /** The source's own sample rate (before any resampling); 0 when unknown. */
  readonly sourceSampleRate: number;
}

const CLIP_LEVEL = 0.985;
const CLIP_RUN = 3;

function clippedFraction(samples: Float32Array): number {
  let clipped = 0;
  let run = 0;
  for (let i = 0; i <= samples.length; i++) {
    const v = i < samples.length ? Math.abs(samples[i] ?? 0) : 0;
    if (v >= CLIP_LEVEL) run++;
    else {
      if (run >= CLIP_RUN) clipped += run;
      run = 0;
    }
  }
  return samples.length ? clipped / samples.length : 0;
}

function inSpeech(t: number, segments: readonly SpeechSegment[]): boolean {
  for (const s of segments) if (t >= s.start && t < s.end) return true;
  return false;
}

export function analyseSample(pcm: PcmChunk, vad: VadResult, sourceSampleRate: number): SampleAnalysis {
  const hop = Math.max(1, Math.round(pcm.sampleRate * 0.02));
  const powers = framePowers(pcm.samples, hop);
  let speechPower = 0;
  let speechFrames = 0;
  for (let f = 0; f < powers.length; f++) {
    if (inSpeech((f + 0.5) * 0.02, vad.segments)) {
      speechPower += powers[f] ?? 0;
      speechFrames++;
    }
  }
  // Without detected speech, judge the loudest tenth of the recording as "the signal".
  const signal = speechFrames > 0 ? speechPower / speechFrames : percentile(powers, 0.9);
  const noise = percentile(powers, 0.1);
  const totalSeconds = pcm.samples.length / pcm.sampleRate;
  return {
    totalSeconds,
    netSpeechSeconds: vad.netSpeechSeconds,
    speechFraction: totalSeconds > 0 ? Math.min(1, vad.netSpeechSeconds / totalSeconds) : 0,
    clippedFraction: clippedFraction(pcm.samples),
    speechLevelDb: toDb(signal),
    // Digital silence between words would give an infinite SNR; cap it.
    snrDb: Math.min(90, toDb(signal) - toDb(Math.max(noise, 1e-12))),
    sourceSampleRate,
  };
}

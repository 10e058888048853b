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
  /** That noise floor, dBFS (what a denoiser is told to remove). */
  readonly noiseFloorDb: number;
  /**
   * How much the background changes: the standard deviation (dB) of the
   * spectral tilt of the quietest fifth of the 20 ms frames. Steady noise (hiss,
   * fans, air) stays under 1.1 dB; voices and music in the background vary by
   * 2.5–7 dB (LibriSpeech test-other with noise mixed in at 5–14 dB SNR).
   */
  readonly backgroundVariationDb: number;
  /** Set when the intake tried a denoiser on this audio (see denoise.ts). */
  readonly denoising?: DenoisingOutcome;
  /** The source's own sample rate (before any resampling); 0 when unknown. */
  readonly sourceSampleRate: number;
}

/**
 * What denoising did: the SNR as recorded and after the denoiser. `applied` is
 * false when it gained too little to keep (the background is not steady noise:
 * voices or music), so the audio stayed as recorded.
 */
export interface DenoisingOutcome {
  readonly applied: boolean;
  readonly snrBeforeDb: number;
  readonly snrAfterDb: number;
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

/** Share of the quietest frames that stand for the background. */
const BACKGROUND_SHARE = 0.2;

/**
 * Per 20 ms frame, the spectral tilt is the power of the first difference over
 * the power of the signal (dB): high for hiss, low for hum and voiced sounds.
 * Over the quietest frames, steady noise keeps one tilt; speech and music in
 * the background move between voiced, fricative and tonal frames.
 */
function backgroundVariation(samples: Float32Array, hop: number, powers: Float64Array): number {
  const order = Array.from(powers.keys()).sort((a, b) => (powers[a] ?? 0) - (powers[b] ?? 0));
  const quiet = order.slice(0, Math.max(5, Math.floor(order.length * BACKGROUND_SHARE)));
  const tilts: number[] = [];
  for (const f of quiet) {
    let level = 0;
    let slope = 0;
    for (let i = f * hop + 1; i < (f + 1) * hop && i < samples.length; i++) {
      const v = samples[i] ?? 0;
      level += v * v;
      slope += (v - (samples[i - 1] ?? 0)) ** 2;
    }
    if (level > 1e-12) tilts.push(10 * Math.log10((slope + 1e-12) / level));
  }
  if (tilts.length < 2) return 0;
  const mean = tilts.reduce((sum, v) => sum + v, 0) / tilts.length;
  return Math.sqrt(tilts.reduce((sum, v) => sum + (v - mean) ** 2, 0) / tilts.length);
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
    noiseFloorDb: toDb(noise),
    backgroundVariationDb: backgroundVariation(pcm.samples, hop, powers),
    sourceSampleRate,
  };
}

import type { PcmChunk } from '../pcm.ts';
import { peak, toDb } from './levels.ts';
import type { SpeechSegment } from './vad.ts';

/**
 * Loudness normalisation by speech RMS: the mean power over the VAD's speech
 * segments is brought to `targetDb` dBFS (−20 by default), but the gain is
 * capped so the peak stays at or below −1 dBFS (no clipping introduced).
 * Speech-gated RMS rather than whole-file RMS so pauses do not skew it.
 */
export interface NormaliseResult {
  readonly pcm: PcmChunk;
  readonly gainDb: number;
}

export function speechRmsDb(pcm: PcmChunk, segments: readonly SpeechSegment[]): number {
  let sum = 0;
  let count = 0;
  for (const seg of segments) {
    const from = Math.max(0, Math.floor(seg.start * pcm.sampleRate));
    const to = Math.min(pcm.samples.length, Math.ceil(seg.end * pcm.sampleRate));
    for (let i = from; i < to; i++) {
      const v = pcm.samples[i] ?? 0;
      sum += v * v;
    }
    count += Math.max(0, to - from);
  }
  return count > 0 ? toDb(sum / count) : -120;
}

export function normaliseLoudness(pcm: PcmChunk, segments: readonly SpeechSegment[], targetDb = -20): NormaliseResult {
  const level = speechRmsDb(pcm, segments);
  if (level <= -100) return { pcm, gainDb: 0 };
  const peakDb = 20 * Math.log10(Math.max(peak(pcm.samples), 1e-9));
  const gainDb = Math.min(targetDb - level, -1 - peakDb);
  const gain = 10 ** (gainDb / 20);
  const samples = new Float32Array(pcm.samples.length);
  for (let i = 0; i < samples.length; i++) samples[i] = (pcm.samples[i] ?? 0) * gain;
  return { pcm: { samples, sampleRate: pcm.sampleRate }, gainDb };
}

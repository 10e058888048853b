import type { BackendInfo } from '../engine/backend.ts';
import { decodeAudio } from '../engine/audio/decode.ts';
import { denoiseWhereItHelps } from '../engine/audio/denoise.ts';
import { judgeSample, type SampleVerdict } from '../engine/audio/quality-verdict.ts';
import { analyseSample } from '../engine/audio/sample-analysis.ts';
import { assembleSample } from '../engine/audio/sample-assembly.ts';
import { resample } from '../engine/audio/resampler.ts';
import { detectSpeech } from '../engine/audio/vad.ts';
import type { PcmChunk } from '../engine/pcm.ts';
import type { ClipAnalysis, SampleIntake } from './sample-intake.ts';

/** Clips are kept at 48 kHz: every backend's rate can be made from it without loss. */
export const CLIP_SAMPLE_RATE = 48_000;

/**
 * The audio pipeline as the core uses it: a clip is judged on its own for quality
 * (clipping, level, noise, speech share, sample rate) and counted towards the sample's
 * net speech; the whole sample is judged again once it is long enough. A clip with
 * steady background noise is denoised first where that lifts it over the noise floor
 * (denoise.ts); the denoised audio is what is kept.
 */
export class AudioSampleIntake implements SampleIntake {
  async analyseClip(audio: Uint8Array, backend: BackendInfo, speechSoFar: number, signal?: AbortSignal): Promise<ClipAnalysis> {
    const decoded = await decodeAudio(audio, { sampleRate: CLIP_SAMPLE_RATE, ...(signal ? { signal } : {}) });
    const vad = await detectSpeech(decoded, signal ? { signal } : {});
    const { pcm, analysis } = await denoiseWhereItHelps(decoded, vad, analyseSample(decoded, vad, decoded.sourceSampleRate), signal);
    const own = judgeSample(analysis, { targetSpeechSeconds: backend.targetSpeechSeconds, minSampleRate: backend.minSampleRate });
    // A single clip is expected to be short; only its quality problems refuse it.
    const qualityProblems = own.problems.filter((p) => p.code !== 'not_enough_speech');
    const total = speechSoFar + (qualityProblems.length === 0 ? vad.netSpeechSeconds : 0);
    const verdict: SampleVerdict = {
      accepted: qualityProblems.length === 0 && total >= backend.targetSpeechSeconds,
      netSpeechSeconds: total,
      targetSpeechSeconds: backend.targetSpeechSeconds,
      problems: [
        ...qualityProblems,
        ...(total < backend.targetSpeechSeconds
          ? [{ code: 'not_enough_speech' as const, figures: { netSpeechSeconds: Math.floor(total), targetSpeechSeconds: backend.targetSpeechSeconds } }]
          : []),
      ],
    };
    return {
      accepted: qualityProblems.length === 0,
      verdict,
      pcm: { samples: pcm.samples, sampleRate: pcm.sampleRate },
      durationSeconds: decoded.samples.length / decoded.sampleRate,
      speechSeconds: vad.netSpeechSeconds,
      sourceRate: decoded.sourceSampleRate,
    };
  }

  async judgeSample(clips: readonly PcmChunk[], backend: BackendInfo): Promise<SampleVerdict> {
    const assembled = await assembleSample(clips, { sampleRate: CLIP_SAMPLE_RATE });
    return judgeSample(assembled.analysis, { targetSpeechSeconds: backend.targetSpeechSeconds, minSampleRate: backend.minSampleRate });
  }

  async assemble(clips: readonly PcmChunk[], sampleRate: number): Promise<PcmChunk> {
    const { pcm } = await assembleSample(clips, { sampleRate: CLIP_SAMPLE_RATE });
    return sampleRate === pcm.sampleRate ? pcm : { samples: resample(pcm.samples, pcm.sampleRate, sampleRate), sampleRate };
  }
}

import type { SampleAnalysis } from './sample-analysis.ts';

export type SampleProblemCode = 'not_enough_speech' | 'clipping' | 'too_quiet' | 'noisy' | 'mostly_non_speech' | 'silent' | 'low_sample_rate';

/** One reason a sample falls short, with the figures its message shows. Wording lives in src/i18n. */
export interface SampleProblem {
  readonly code: SampleProblemCode;
  readonly figures: Readonly<Record<string, number>>;
}

export interface SampleVerdict {
  readonly accepted: boolean;
  readonly netSpeechSeconds: number;
  readonly targetSpeechSeconds: number;
  readonly problems: SampleProblem[];
}

export interface VerdictOptions {
  readonly targetSpeechSeconds: number;
  readonly minSampleRate: number;
}

/** Thresholds, each chosen so clean read speech from a phone passes with margin. */
export const VERDICT_THRESHOLDS = {
  /** More than 0.1 % of samples in clipped runs is audible distortion. */
  maxClippedFraction: 0.001,
  /** Speech RMS below −40 dBFS: mic too far or gain too low. */
  minSpeechLevelDb: -40,
  /**
   * Speech less than 15 dB above the noise floor (after denoising, where that
   * helped) trains the noise into the voice. Quiet-room recordings measure
   * 17–60 dB as recorded (LibriSpeech test-other); steady noise mixed in at
   * 12–14 dB SNR measures 12–15 dB and 18–29 dB after denoising.
   */
  minSnrDb: 15,
  /** Below 10 dB the noise is too strong to remove without ruining the voice: refused as recorded. */
  minDenoisableSnrDb: 10,
  /** A background whose tilt varies more than this is voices or music, which no denoiser removes (see sample-analysis.ts). */
  maxSteadyBackgroundDb: 2,
  /** Denoising is kept only when it gains at least this much (steady noise at 12–14 dB gains 6–16 dB). */
  minDenoiseGainDb: 3,
  /** Under 40 % speech: mostly music, silence or background. */
  minSpeechFraction: 0.4,
  /**
   * No speech and even the loudest tenth of the recording under −60 dBFS: nothing was recorded
   * (a muted or unplugged microphone), which calls for other advice than music or chatter.
   */
  maxSilentLevelDb: -60,
} as const;

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function judgeSample(analysis: SampleAnalysis, options: VerdictOptions): SampleVerdict {
  const t = VERDICT_THRESHOLDS;
  const problems: SampleProblem[] = [];
  const net = Math.floor(analysis.netSpeechSeconds);
  if (analysis.netSpeechSeconds < options.targetSpeechSeconds) {
    problems.push({ code: 'not_enough_speech', figures: { netSpeechSeconds: net, targetSpeechSeconds: options.targetSpeechSeconds } });
  }
  if (analysis.sourceSampleRate > 0 && analysis.sourceSampleRate < options.minSampleRate) {
    problems.push({ code: 'low_sample_rate', figures: { sampleRate: analysis.sourceSampleRate, minSampleRate: options.minSampleRate } });
  }
  if (analysis.clippedFraction > t.maxClippedFraction) {
    problems.push({ code: 'clipping', figures: { clippedPercent: round1(analysis.clippedFraction * 100) } });
  }
  const silent = analysis.netSpeechSeconds === 0 && analysis.speechLevelDb < t.maxSilentLevelDb;
  if (silent) {
    problems.push({ code: 'silent', figures: { levelDb: Math.max(-120, Math.round(analysis.speechLevelDb)) } });
  } else if (analysis.speechFraction < t.minSpeechFraction) {
    problems.push({ code: 'mostly_non_speech', figures: { speechPercent: Math.round(analysis.speechFraction * 100) } });
  }
  // Level and SNR mean something only where there is speech to measure.
  if (analysis.netSpeechSeconds > 0) {
    if (analysis.speechLevelDb < t.minSpeechLevelDb) {
      problems.push({ code: 'too_quiet', figures: { levelDb: round1(analysis.speechLevelDb), minLevelDb: t.minSpeechLevelDb } });
    }
    if (analysis.snrDb < t.minSnrDb) {
      // `background` = 1: voices or music, which no denoiser removes; that calls for other advice.
      const background = analysis.backgroundVariationDb > t.maxSteadyBackgroundDb ? 1 : 0;
      problems.push({ code: 'noisy', figures: { snrDb: round1(analysis.snrDb), minSnrDb: t.minSnrDb, background } });
    }
  }
  return {
    accepted: problems.length === 0,
    netSpeechSeconds: analysis.netSpeechSeconds,
    targetSpeechSeconds: options.targetSpeechSeconds,
    problems,
  };
}

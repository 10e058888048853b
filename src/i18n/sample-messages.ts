import type { ConsentCheckProblem } from '../consent/verification/consent-check-problem.ts';
import type { SampleProblem } from '../engine/audio/quality-verdict.ts';
import { t } from './catalogue.ts';
import type { Locale } from './locale.ts';

/** A problem rendered for a user: what is wrong and what to do. */
export interface RenderedProblem {
  readonly code: SampleProblem['code'] | ConsentCheckProblem['code'];
  readonly reason: string;
  readonly advice: string;
}

function figure(problem: SampleProblem | ConsentCheckProblem, name: string): number {
  return problem.figures[name] ?? 0;
}

export function renderProblem(locale: Locale, problem: SampleProblem | ConsentCheckProblem): RenderedProblem {
  const f = (name: string): number => figure(problem, name);
  switch (problem.code) {
    case 'reading_not_heard':
      return {
        code: problem.code,
        reason: t(locale, 'consent.check.reading_not_heard', { words: (problem.words ?? []).join(locale === 'zh' ? '、' : ', ') }),
        advice: t(locale, 'consent.check.advice.reading_not_heard'),
      };
    case 'reading_assurance_too_low':
      return {
        code: problem.code,
        reason: t(locale, 'consent.check.reading_assurance_too_low'),
        advice: t(locale, 'consent.check.advice.reading_assurance_too_low'),
      };
    case 'too_short_to_verify':
      return {
        code: problem.code,
        reason: t(locale, 'consent.check.too_short_to_verify', { seconds: f('speechSeconds'), min: f('minSeconds') }),
        advice: t(locale, 'consent.check.advice.too_short_to_verify'),
      };
    case 'speaker_mismatch':
      return {
        code: problem.code,
        reason: t(locale, 'consent.check.speaker_mismatch', { count: f('mismatches'), limit: f('limit') }),
        advice: t(locale, 'consent.check.advice.speaker_mismatch'),
      };
    case 'speaker_mismatch_limit':
      return {
        code: problem.code,
        reason: t(locale, 'consent.check.speaker_mismatch_limit', { limit: f('limit') }),
        advice: t(locale, 'consent.check.advice.speaker_mismatch_limit'),
      };
    case 'not_enough_speech':
      return {
        code: problem.code,
        reason: t(locale, 'sample.problem.not_enough_speech', { net: f('netSpeechSeconds'), target: f('targetSpeechSeconds') }),
        advice: speechAdvice(locale, f('targetSpeechSeconds') - f('netSpeechSeconds')),
      };
    case 'clipping':
      return {
        code: problem.code,
        reason: t(locale, 'sample.problem.clipping', { percent: f('clippedPercent') }),
        advice: t(locale, 'sample.advice.clipping'),
      };
    case 'too_quiet':
      return { code: problem.code, reason: t(locale, 'sample.problem.too_quiet', { level: f('levelDb') }), advice: t(locale, 'sample.advice.too_quiet') };
    case 'noisy':
      return {
        code: problem.code,
        reason: t(locale, 'sample.problem.noisy', { snr: f('snrDb'), min: f('minSnrDb') }),
        advice: t(locale, f('background') === 1 ? 'sample.advice.noisy_background' : 'sample.advice.noisy'),
      };
    case 'mostly_non_speech':
      return {
        code: problem.code,
        reason: t(locale, 'sample.problem.mostly_non_speech', { percent: f('speechPercent') }),
        advice: t(locale, 'sample.advice.mostly_non_speech'),
      };
    case 'silent':
      return { code: problem.code, reason: t(locale, 'sample.problem.silent'), advice: t(locale, 'sample.advice.silent') };
    case 'low_sample_rate':
      return {
        code: problem.code,
        reason: t(locale, 'sample.problem.low_sample_rate', { rate: f('sampleRate'), min: f('minSampleRate') }),
        advice: t(locale, 'sample.advice.low_sample_rate'),
      };
  }
}

/** A sentence of the reading script (Harvard-list style) holds about this much speech. */
const SECONDS_PER_SENTENCE = 2.5;

/** "One more sentence" when that is all that is missing, so nobody stops a few seconds short. */
function speechAdvice(locale: Locale, missingSeconds: number): string {
  if (missingSeconds <= 0 || missingSeconds > 30) return t(locale, 'sample.advice.not_enough_speech');
  const sentences = Math.ceil(missingSeconds / SECONDS_PER_SENTENCE);
  return sentences <= 1 ? t(locale, 'sample.advice.one_more_sentence') : t(locale, 'sample.advice.more_sentences', { sentences });
}

/** Progress line shown while the user is still recording ("38 of 60 s"). */
export function renderProgress(locale: Locale, verdict: { readonly netSpeechSeconds: number; readonly targetSpeechSeconds: number }): string {
  return t(locale, 'sample.progress', { net: Math.floor(verdict.netSpeechSeconds), target: verdict.targetSpeechSeconds });
}

type Verdict = { readonly problems: ReadonlyArray<SampleProblem | ConsentCheckProblem> };

/**
 * What is wrong with a clip and what to do, one "reason advice" line per problem. "Not
 * enough speech yet" is the progress line itself, so it is left out unless `withSpeech`.
 */
export function problemLines(locale: Locale, verdict: Verdict, withSpeech: boolean): string[] {
  return verdict.problems
    .filter((p) => withSpeech || p.code !== 'not_enough_speech')
    .map((p) => renderProblem(locale, p))
    .map((p) => `${p.reason} ${p.advice}`);
}

/** The one problem to name when there is room for only one: the first that is not merely "too little speech". */
export function mainProblem(locale: Locale, verdict: Verdict): RenderedProblem | null {
  const problem = verdict.problems.find((p) => p.code !== 'not_enough_speech') ?? verdict.problems[0];
  return problem ? renderProblem(locale, problem) : null;
}

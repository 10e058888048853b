import type { HeardWord } from './voice-evidence.ts';

/**
 * A reading counts when every word of the challenge phrase was heard and at least this
 * share of the statement's sounds (weighted by phones). Readers stumble and recognisers
 * miss short words; another text or noise covers far less (npm run bench -- consent).
 */
export const MIN_STATEMENT_COVERAGE = 0.75;

export interface ReadingJudgement {
  readonly accepted: boolean;
  readonly coverage: number;
  /** Words of the statement and the phrase that were not heard, in reading order. */
  readonly missing: readonly string[];
}

export function judgeReading(statement: readonly HeardWord[], challenge: readonly HeardWord[]): ReadingJudgement {
  const total = statement.reduce((n, w) => n + w.weight, 0);
  const heard = statement.reduce((n, w) => n + (w.heard ? w.weight : 0), 0);
  const coverage = total === 0 ? 1 : heard / total;
  const missing = [...statement, ...challenge].filter((w) => !w.heard && w.weight > 0).map((w) => w.word);
  const challengeHeard = challenge.every((w) => w.heard || w.weight === 0);
  return { accepted: challengeHeard && coverage >= MIN_STATEMENT_COVERAGE, coverage, missing };
}

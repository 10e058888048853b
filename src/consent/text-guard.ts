import { statementTemplates } from './reading-script.ts';

/**
 * A cloned voice must never be able to consent for its owner. So synthesis refuses
 * text that repeats a consent statement or any live challenge phrase — also when
 * only part of it is repeated, or it is hidden in punctuation or case changes.
 */
const NGRAM = 4;
/** Share of a statement's word 4-grams that may appear before the text counts as a repetition. */
const STATEMENT_OVERLAP_LIMIT = 0.3;
/** Consecutive challenge words that may appear before the text counts as saying the challenge. */
const CHALLENGE_RUN_LIMIT = 2;

export type GuardVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: 'consent_statement' | 'challenge_phrase' };

export function checkSpeakableText(text: string, liveChallenges: readonly string[]): GuardVerdict {
  const tokens = tokenize(text);
  const grams = new Set(ngrams(tokens, NGRAM));
  for (const statement of STATEMENT_TOKENS) {
    const statementGrams = ngrams(statement, NGRAM);
    const seen = statementGrams.filter((g) => grams.has(g)).length;
    if (statementGrams.length > 0 && seen / statementGrams.length >= STATEMENT_OVERLAP_LIMIT) return { ok: false, reason: 'consent_statement' };
  }
  const joined = ` ${tokens.join(' ')} `;
  for (const challenge of liveChallenges) {
    const words = tokenize(challenge);
    const run = Math.min(words.length, CHALLENGE_RUN_LIMIT + 1);
    for (let i = 0; i + run <= words.length; i++) {
      if (joined.includes(` ${words.slice(i, i + run).join(' ')} `)) return { ok: false, reason: 'challenge_phrase' };
    }
  }
  return { ok: true };
}

/** Lower-case words; each CJK character is its own token so Chinese compares like English. */
export function tokenize(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{Script=Han}]/gu, ' $& ')
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

function ngrams(tokens: readonly string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(' '));
  return out;
}

const STATEMENT_TOKENS = statementTemplates().map((s) => tokenize(s.text));

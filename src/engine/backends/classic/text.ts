import { BackendError } from '../../backend.ts';
import type { BaseLanguage } from './render.ts';

/**
 * Text handling before the base voice: normalisation, language resolution and
 * clause splitting, so synthesis can stream clause by clause.
 */

/** Longer texts are refused; 10,000 characters is several minutes of speech. */
export const MAX_TEXT_CHARS = 10_000;
/** Words (or, for Chinese, characters) per clause before a long clause is cut. */
const MAX_CLAUSE_UNITS: Record<BaseLanguage, number> = { en: 20, zh: 30 };
/** The first clause is kept short so the first audio comes out quickly. */
const FIRST_CLAUSE_UNITS: Record<BaseLanguage, number> = { en: 8, zh: 12 };
const MIN_CLAUSE_UNITS: Record<BaseLanguage, number> = { en: 3, zh: 4 };

export function resolveLanguage(code: string, supported: readonly BaseLanguage[]): BaseLanguage {
  const primary = code.trim().toLowerCase().split(/[-_]/)[0] ?? '';
  const mapped = primary === 'cmn' || primary === 'zho' || primary === 'chi' ? 'zh' : primary === 'eng' ? 'en' : primary;
  const found = supported.find((l) => l === mapped);
  if (!found) {
    throw new BackendError('unsupported_language', `language "${code}" is not supported by the classic backend; supported: ${supported.join(', ')}`, {
      languages: supported.join(', '),
    });
  }
  return found;
}

export function normaliseText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\p{Cc}\p{Cf}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Splits text into clauses to render one at a time. Throws for empty or over-long text. */
export function splitClauses(text: string, language: BaseLanguage): string[] {
  if (text.length > MAX_TEXT_CHARS) {
    throw new BackendError('text_too_long', `text has ${text.length} characters; the classic backend takes at most ${MAX_TEXT_CHARS} per request`, {
      max: MAX_TEXT_CHARS,
    });
  }
  const clean = normaliseText(text);
  if (!/[\p{L}\p{N}]/u.test(clean)) throw new BackendError('empty_text', 'there is no text to speak');
  const pieces = clean
    .split(/(?<=[.!?;。！？；])\s*|(?<=[,:，、：])\s*/u)
    .map((p) => p.trim())
    .filter((p) => /[\p{L}\p{N}]/u.test(p));
  const merged: string[] = [];
  let pending = '';
  for (const piece of pieces) {
    pending = pending ? joinPieces(pending, piece, language) : piece;
    if (unitsOf(pending, language) >= MIN_CLAUSE_UNITS[language]) {
      merged.push(pending);
      pending = '';
    }
  }
  if (pending) {
    if (merged.length > 0) merged[merged.length - 1] = joinPieces(merged[merged.length - 1]!, pending, language);
    else merged.push(pending);
  }
  const out: string[] = [];
  for (const clause of merged) {
    const limit = out.length === 0 ? FIRST_CLAUSE_UNITS[language] : MAX_CLAUSE_UNITS[language];
    out.push(...cut(clause, limit, language));
  }
  return out;
}

/** Whether a clause ends a sentence (its last character is sentence punctuation), where a speaker pauses. */
export function endsSentence(clause: string): boolean {
  return /[.!?。！？]["'”’)\]]*$/u.test(clause.trim());
}

function joinPieces(a: string, b: string, language: BaseLanguage): string {
  return language === 'zh' ? a + b : `${a} ${b}`;
}

function unitsOf(text: string, language: BaseLanguage): number {
  if (language === 'zh') return [...text.replace(/[^\p{L}\p{N}]/gu, '')].length;
  return text.split(' ').filter((w) => /[\p{L}\p{N}]/u.test(w)).length;
}

/** Cuts a clause longer than `limit` units into nearly equal parts at word (or character) boundaries. */
function cut(clause: string, limit: number, language: BaseLanguage): string[] {
  const units = language === 'zh' ? [...clause] : clause.split(' ');
  const count = unitsOf(clause, language);
  if (count <= limit) return [clause];
  const parts = Math.ceil(count / limit);
  const size = Math.ceil(units.length / parts);
  const out: string[] = [];
  for (let i = 0; i < units.length; i += size) out.push(units.slice(i, i + size).join(language === 'zh' ? '' : ' '));
  return out;
}

/**
 * English words → ARPAbet phones with stress, as upstream's english.py produces them: the CMU
 * pronouncing dictionary first, then (where upstream uses g2p_en's neural model) a fallback:
 * known stems with plural/possessive endings, letter names for short capitalised words, and
 * simple grapheme rules for anything else, so every word gets some pronunciation.
 */
import { dictionary } from 'cmu-pronouncing-dictionary';

const LETTERS: Readonly<Record<string, string>> = {
  a: 'EY1',
  b: 'B IY1',
  c: 'S IY1',
  d: 'D IY1',
  e: 'IY1',
  f: 'EH1 F',
  g: 'JH IY1',
  h: 'EY1 CH',
  i: 'AY1',
  j: 'JH EY1',
  k: 'K EY1',
  l: 'EH1 L',
  m: 'EH1 M',
  n: 'EH1 N',
  o: 'OW1',
  p: 'P IY1',
  q: 'K Y UW1',
  r: 'AA1 R',
  s: 'EH1 S',
  t: 'T IY1',
  u: 'Y UW1',
  v: 'V IY1',
  w: 'D AH1 B AH0 L Y UW0',
  x: 'EH1 K S',
  y: 'W AY1',
  z: 'Z IY1',
};

// Longest-first grapheme rules for words no dictionary knows. Deliberately small.
const GRAPHEMES: readonly [string, string][] = [
  ['tion', 'SH AH0 N'],
  ['sion', 'ZH AH0 N'],
  ['ough', 'AO1'],
  ['igh', 'AY1'],
  ['tch', 'CH'],
  ['dge', 'JH'],
  ['sch', 'S K'],
  ['ch', 'CH'],
  ['sh', 'SH'],
  ['th', 'TH'],
  ['ph', 'F'],
  ['wh', 'W'],
  ['ck', 'K'],
  ['ng', 'NG'],
  ['qu', 'K W'],
  ['ee', 'IY1'],
  ['ea', 'IY1'],
  ['oo', 'UW1'],
  ['ou', 'AW1'],
  ['ow', 'OW1'],
  ['oi', 'OY1'],
  ['oy', 'OY1'],
  ['ai', 'EY1'],
  ['ay', 'EY1'],
  ['au', 'AO1'],
  ['aw', 'AO1'],
  ['ie', 'IY1'],
  ['ei', 'EY1'],
  ['er', 'ER0'],
  ['ar', 'AA1 R'],
  ['or', 'AO1 R'],
  ['ir', 'ER1'],
  ['ur', 'ER1'],
  ['a', 'AE1'],
  ['e', 'EH1'],
  ['i', 'IH1'],
  ['o', 'AA1'],
  ['u', 'AH1'],
  ['y', 'IY0'],
  ['b', 'B'],
  ['c', 'K'],
  ['d', 'D'],
  ['f', 'F'],
  ['g', 'G'],
  ['h', 'HH'],
  ['j', 'JH'],
  ['k', 'K'],
  ['l', 'L'],
  ['m', 'M'],
  ['n', 'N'],
  ['p', 'P'],
  ['q', 'K'],
  ['r', 'R'],
  ['s', 'S'],
  ['t', 'T'],
  ['v', 'V'],
  ['w', 'W'],
  ['x', 'K S'],
  ['z', 'Z'],
];

function split(pron: string): string[] {
  return pron.split(' ').filter(Boolean);
}

function lookup(word: string): string[] | null {
  const pron = dictionary[word];
  return pron ? split(pron) : null;
}

/** Only the first stressed vowel keeps primary stress; later ones drop to secondary (reads better). */
function graphemeRules(word: string): string[] {
  const phones: string[] = [];
  let rest = word.replace(/e$/, word.length > 3 ? '' : 'e');
  while (rest) {
    const rule = GRAPHEMES.find(([g]) => rest.startsWith(g));
    if (!rule) {
      rest = rest.slice(1);
      continue;
    }
    phones.push(...split(rule[1]));
    rest = rest.slice(rule[0].length);
  }
  let stressed = false;
  return phones.map((p) => {
    if (!p.endsWith('1')) return p;
    if (!stressed) {
      stressed = true;
      return p;
    }
    return `${p.slice(0, -1)}2`;
  });
}

export function wordToPhones(rawWord: string): string[] {
  // Upstream (text/english.py) reads a capital "A" on its own as the letter name.
  if (rawWord === 'A') return ['EY1'];
  const word = rawWord.toLowerCase();
  const known = lookup(word);
  if (known) return known;
  const stem = /^(.+?)('s|s'|s)$/.exec(word);
  if (stem?.[1]) {
    const base = lookup(stem[1]);
    if (base) {
      const last = base[base.length - 1] ?? '';
      const suffix = ['S', 'Z', 'SH', 'ZH', 'CH', 'JH'].includes(last) ? ['IH0', 'Z'] : ['P', 'T', 'K', 'F', 'TH'].includes(last) ? ['S'] : ['Z'];
      return [...base, ...suffix];
    }
  }
  const letters = word.replace(/[^a-z]/g, '');
  if (letters.length <= 3 || (rawWord === rawWord.toUpperCase() && letters.length <= 5)) {
    return [...letters].flatMap((l) => split(LETTERS[l] ?? ''));
  }
  return graphemeRules(letters);
}

const PUNCT = new Set([',', '.', '!', '?', '…', '-']);
/** English below this many phones gets a leading "," (upstream's cleaner.py). */
export const MIN_ENGLISH_PHONES = 4;

/** Normalised English text → phones (ARPAbet and the model's punctuation marks). */
export function englishPhones(normalized: string): string[] {
  const phones: string[] = [];
  const tokens = normalized.match(/[A-Za-z]+(?:'[A-Za-z]+)*|[,.!?…-]/g) ?? [];
  for (const token of tokens) {
    if (PUNCT.has(token)) {
      // Upstream collapses repeated punctuation; so do we.
      if (phones[phones.length - 1] !== token) phones.push(token);
    } else {
      phones.push(...wordToPhones(token));
    }
  }
  return phones;
}

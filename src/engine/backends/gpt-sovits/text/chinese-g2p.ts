/**
 * Chinese text → initials and toned finals. pinyin-pro resolves polyphones by word and applies
 * the 一/不 sandhi; here we add the third-tone sandhi inside each word (3-3 → 2-3, a run of
 * thirds becomes seconds before the last), map neutral tone to 5 and split each syllable into the
 * two symbols upstream uses. Latin words inside Chinese text go through the English G2P.
 * Returns phones plus, per character, how many phones it produced (for BERT features).
 */
import { OutputFormat, segment } from 'pinyin-pro';
import { englishPhones, MIN_ENGLISH_PHONES } from './english-g2p.ts';
import { splitSyllable } from './pinyin-symbols.ts';

export interface ChinesePhones {
  readonly phones: string[];
  /** Characters of the text the BERT tokenizer sees, with the phones each produced; null = no BERT feature. */
  readonly units: { readonly char: string | null; readonly phoneCount: number }[];
}

const HAN = /\p{Script=Han}/u;
const PUNCT = new Set([',', '.', '!', '?', '…', '-']);

function thirdToneSandhi(tones: number[]): number[] {
  const out = [...tones];
  for (let i = 0; i < out.length - 1; i++) {
    if (tones[i] === 3 && tones[i + 1] === 3) out[i] = 2;
  }
  return out;
}

interface Syllable {
  readonly char: string;
  readonly base: string;
  tone: number;
}

/**
 * Third-tone sandhi over words, joining neighbouring words into one domain when both meet with a
 * third tone and together they are at most three syllables (upstream merges such words too).
 */
function applyThirdToneSandhi(words: Syllable[][]): void {
  const domains: Syllable[][] = [];
  for (const word of words) {
    const last = domains[domains.length - 1];
    if (last && last.length + word.length <= 3 && last[last.length - 1]?.tone === 3 && word[0]?.tone === 3) last.push(...word);
    else domains.push([...word]);
  }
  for (const domain of domains) {
    const tones = thirdToneSandhi(domain.map((s) => s.tone));
    domain.forEach((s, i) => {
      s.tone = tones[i] ?? s.tone;
    });
  }
}

function hanPhones(run: string, into: ChinesePhones): void {
  const words = segment(run, { format: OutputFormat.AllArray, toneType: 'num', v: true }) as { origin: string; result: string }[][];
  const parsed: Syllable[][] = words.map((word) =>
    word.map((syl) => {
      const m = /^([a-zü]+)([0-5])$/.exec(syl.result);
      return { char: syl.origin, base: m?.[1] ?? '', tone: m ? (Number(m[2]) === 0 ? 5 : Number(m[2])) : 0 };
    }),
  );
  applyThirdToneSandhi(parsed);
  for (const syllable of parsed.flat()) {
    const split = splitSyllable(syllable.base);
    if (!split || syllable.tone === 0) {
      into.units.push({ char: syllable.char, phoneCount: 0 });
      continue;
    }
    into.phones.push(split[0], `${split[1]}${syllable.tone}`);
    into.units.push({ char: syllable.char, phoneCount: 2 });
  }
}

export function chinesePhones(normalized: string): ChinesePhones {
  const result: ChinesePhones = { phones: [], units: [] };
  // Latin words with the spaces between them form one run, as upstream's LangSegmenter makes one English chunk.
  const runs = normalized.match(/\p{Script=Han}+|[A-Za-z]+(?:'[A-Za-z]+)*(?:\s+[A-Za-z]+(?:'[A-Za-z]+)*)*|[,.!?…-]|./gu) ?? [];
  for (const run of runs) {
    if (HAN.test(run)) hanPhones(run, result);
    else if (PUNCT.has(run)) {
      if (result.phones[result.phones.length - 1] !== run) {
        result.phones.push(run);
        result.units.push({ char: run, phoneCount: 1 });
      }
    } else if (/^[A-Za-z]/.test(run)) {
      // cleaner.py: an English chunk under 4 phones gets a leading ",".
      const english = englishPhones(run);
      const phones = english.length < MIN_ENGLISH_PHONES ? [',', ...english] : english;
      result.phones.push(...phones);
      result.units.push({ char: null, phoneCount: phones.length });
    }
  }
  return result;
}

/**
 * The text front end: raw text → synthesis segments with GPT-SoVITS v2 phones and symbol ids.
 * Splits first (cut5), then normalises and converts each segment, so one bad segment never
 * shifts the others. Languages: Chinese (`zh*`) and English (`en*`).
 *
 * Punctuation as upstream's TextPreprocessor / cleaner.py add it (the model was trained so):
 * "。"/"." before a text whose first sentence is under 4 characters, "。"/"." after a segment
 * without final punctuation, "," before English under 4 phones, "." before a segment under 6
 * phones.
 */
import { BackendError } from '../../../backend.ts';
import { symbolIds } from '../symbols.ts';
import { chinesePhones } from './chinese-g2p.ts';
import { englishPhones, MIN_ENGLISH_PHONES } from './english-g2p.ts';
import { normalizeChinese } from './normalize-zh.ts';
import { normalizeEnglish } from './normalize-en.ts';
import { splitSegments } from './segment.ts';

export type FrontEndLanguage = 'zh' | 'en';

export interface PhoneUnit {
  /** The character BERT sees for these phones, or null where BERT gives zeros. */
  readonly char: string | null;
  readonly phoneCount: number;
}

export interface TextSegment {
  readonly language: FrontEndLanguage;
  readonly phones: readonly string[];
  readonly ids: readonly number[];
  /** Chinese only: characters and how many phones each produced (upstream's word2ph). */
  readonly units: readonly PhoneUnit[] | null;
}

/** Longest text accepted in one request; longer text is a user error, not a silent cut. */
export const MAX_TEXT_CHARS = 20_000;

export function frontEndLanguage(language: string): FrontEndLanguage {
  const code = language.toLowerCase();
  if (code.startsWith('zh') || code === 'cmn' || code === 'yue') return 'zh';
  if (code.startsWith('en')) return 'en';
  throw new BackendError('unsupported_language', `GPT-SoVITS supports Chinese (zh) and English (en), not "${language}"`, { languages: 'zh, en' });
}

const PUNCT_ONLY = new Set([',', '.', '!', '?', '…', '-']);
/** Upstream's `splits` (text_segmentation_method.py): marks that end a sentence. */
const SPLITS = new Set(['，', '。', '？', '！', ',', '.', '?', '!', '~', ':', '：', '—', '…']);
/** Below this many phones upstream prefixes "." (get_phones_and_bert). */
const MIN_PHONES = 6;

const stop = (language: FrontEndLanguage): string => (language === 'en' ? '.' : '。');

/** A segment as upstream passes it to G2P: with final punctuation. */
export function withFinalPunctuation(text: string, language: FrontEndLanguage): string {
  const chars = [...text];
  return SPLITS.has(chars[chars.length - 1] ?? '') ? text : text + stop(language);
}

/** Phones for one piece of text (as given: no punctuation added), or null when nothing speakable is in it. */
export function textToSegment(text: string, language: FrontEndLanguage, final = false): TextSegment | null {
  let phones: string[];
  let units: PhoneUnit[] | null = null;
  if (language === 'zh') {
    const result = chinesePhones(normalizeChinese(text));
    phones = result.phones;
    units = result.units;
  } else {
    phones = englishPhones(normalizeEnglish(text));
    if (phones.length < MIN_ENGLISH_PHONES) phones = [',', ...phones];
  }
  if (phones.every((p) => PUNCT_ONLY.has(p))) return null;
  if (!final && phones.length < MIN_PHONES) return textToSegment(`.${text}`, language, true);
  return { language, phones, ids: symbolIds(phones), units };
}

/** The prompt text's phones as upstream's TTS.py makes them (final punctuation added). */
export function promptToSegment(text: string, language: FrontEndLanguage): TextSegment | null {
  const trimmed = text.trim();
  return trimmed ? textToSegment(withFinalPunctuation(trimmed, language), language) : null;
}

/** Upstream's pre_seg_text: leading mark for a short first sentence, cut5 + merge, final marks. */
export function segmentTexts(text: string, language: FrontEndLanguage): string[] {
  let t = text.trim();
  if (!t) return [];
  const first = t.split(/[，。？！,.?!~:：—…]/u)[0]?.trim() ?? '';
  if (!SPLITS.has([...t][0] ?? '') && [...first].length < 4) t = stop(language) + t;
  return splitSegments(t).map((piece) => withFinalPunctuation(piece, language));
}

/** All segments of a request's text; fails clearly when nothing in it can be spoken. */
export function textToSegments(text: string, language: string): TextSegment[] {
  const lang = frontEndLanguage(language);
  if ([...text].length > MAX_TEXT_CHARS) {
    throw new BackendError('text_too_long', `text has ${[...text].length} characters; the limit is ${MAX_TEXT_CHARS}`, { max: MAX_TEXT_CHARS });
  }
  const segments = segmentTexts(text, lang)
    .map((piece) => textToSegment(piece, lang))
    .filter((s): s is TextSegment => s !== null);
  if (segments.length === 0) {
    throw new BackendError(
      'unspeakable_text',
      `nothing in the text can be spoken in ${lang === 'zh' ? 'Chinese' : 'English'} (only symbols, emoji or another script)`,
    );
  }
  return segments;
}

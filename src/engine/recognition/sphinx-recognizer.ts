import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resample } from '../audio/resampler.ts';
import { encodeWav } from '../audio/wav.ts';
import type { PcmChunk } from '../pcm.ts';
import { RecognizerUnavailableError, type HeardWord, type ReadingRecognition, type ReadingRecognizer } from './reading-recognition.ts';
import { runTool } from './run-tool.ts';

/** Debian's `pocketsphinx-en-us`: the US English acoustic model and the CMU dictionary. */
export const DEFAULT_SPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

const SPHINX_RATE = 16_000;
/** The 39 ARPAbet phones of the acoustic model; each is also a "word" of the garbage loop. */
const PHONES = 'AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH'.split(' ');
/** Words of our own texts that the CMU dictionary lacks. */
const EXTRA_PRONUNCIATIONS: Readonly<Record<string, string>> = { vocalis: 'V OW K AE L IH S' };
/**
 * Word insertion penalty. Every word costs this much, so a stretch of speech is cheaper
 * as one expected word than as the phones spelling it, but speech that is not an
 * expected word is cheaper as phones than forced into a wrong word. Chosen on Allison's
 * prompts (npm run bench -- consent).
 */
const WORD_INSERTION_PENALTY = '1e-4';
/** Recognition of a minute of speech takes a few seconds; past this something is wrong. */
const TIMEOUT_MS = 60_000;

/**
 * English reading recognition with CMU Sphinx (pocketsphinx_continuous), constrained to
 * the expected text: the grammar is a loop over the expected words and the 39 phones. An
 * expected word is heard when the decoder prefers it to spelling that stretch with
 * phones; noise and other text come out as phones. The words heard are aligned in order
 * with the expected text (longest common subsequence, weighted by phones), so the
 * expected words said in another order or only partly do not all count.
 */
export class SphinxRecognizer implements ReadingRecognizer {
  readonly language = 'en';
  readonly #modelDir: string;
  readonly #binary: string;
  #loaded: Promise<{ dictionary: Map<string, string[]>; version: string }> | null = null;

  constructor(options: { modelDir?: string; binary?: string } = {}) {
    this.#modelDir = options.modelDir ?? DEFAULT_SPHINX_MODEL_DIR;
    this.#binary = options.binary ?? 'pocketsphinx_continuous';
  }

  async recognise(pcm: PcmChunk, expected: readonly string[], options: { signal?: AbortSignal } = {}): Promise<ReadingRecognition> {
    const { dictionary, version } = await this.#load();
    const words = expected.map(normaliseWord).filter((w) => w.length > 0);
    const known = [...new Set(words.filter((w) => dictionary.has(w)))].sort();
    const audio = encodeWav({ samples: resample(pcm.samples, pcm.sampleRate, SPHINX_RATE), sampleRate: SPHINX_RATE }, 16);
    // mkdtemp makes the folder 0700: the plaintext reading is readable by this user only, and goes in `finally`.
    const dir = await mkdtemp(join(tmpdir(), 'vocalis-sphinx-'));
    try {
      await writeFile(join(dir, 'words.dict'), dictionaryFile(known, dictionary), { mode: 0o600 });
      await writeFile(join(dir, 'reading.gram'), grammarFile(known), { mode: 0o600 });
      // The decoder opens its input by name, and Node's stdin pipe is a socket it cannot open: a private file.
      await writeFile(join(dir, 'reading.wav'), audio, { mode: 0o600 });
      const output =
        known.length === 0
          ? ''
          : (
              await runTool(
                this.#binary,
                [
                  '-infile',
                  join(dir, 'reading.wav'),
                  '-hmm',
                  join(this.#modelDir, 'en-us'),
                  '-dict',
                  join(dir, 'words.dict'),
                  '-jsgf',
                  join(dir, 'reading.gram'),
                  '-wip',
                  WORD_INSERTION_PENALTY,
                  '-time',
                  'yes',
                  '-logfn',
                  '/dev/null',
                ],
                null,
                { timeoutMs: TIMEOUT_MS, ...(options.signal ? { signal: options.signal } : {}) },
              )
            ).toString('utf8');
      const heard = parseTimedWords(output).filter((w) => !w.word.startsWith('ph_'));
      return { level: 'recognised', method: 'pocketsphinx-jsgf-phone-loop', modelVersion: version, words: align(words, heard, dictionary) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  #load() {
    this.#loaded ??= (async () => {
      let text: string;
      let means: Buffer;
      try {
        text = await readFile(join(this.#modelDir, 'cmudict-en-us.dict'), 'utf8');
        means = await readFile(join(this.#modelDir, 'en-us', 'means'));
      } catch {
        throw new RecognizerUnavailableError(`the US English Sphinx model is missing in ${this.#modelDir} (Debian package pocketsphinx-en-us)`);
      }
      const dictionary = new Map<string, string[]>();
      for (const line of text.split('\n')) {
        const space = line.indexOf(' ');
        if (space <= 0) continue;
        const word = line.slice(0, space).replace(/\(\d+\)$/, '');
        const list = dictionary.get(word) ?? [];
        list.push(line.slice(space + 1).trim());
        dictionary.set(word, list);
      }
      for (const [word, phones] of Object.entries(EXTRA_PRONUNCIATIONS)) if (!dictionary.has(word)) dictionary.set(word, [phones]);
      return { dictionary, version: `en-us:${createHash('sha256').update(means).digest('hex').slice(0, 12)}` };
    })();
    return this.#loaded;
  }
}

export function normaliseWord(word: string): string {
  return word.toLowerCase().replace(/[^a-z']/g, '');
}

/** Splits text into the words a reader says, lower case, without punctuation. */
export function spokenWords(text: string): string[] {
  return text
    .split(/[\s,.;:!?"()]+/)
    .map(normaliseWord)
    .filter((w) => w.length > 0);
}

function dictionaryFile(words: readonly string[], dictionary: Map<string, string[]>): string {
  const lines: string[] = [];
  for (const word of words) {
    for (const [i, phones] of (dictionary.get(word) ?? []).entries()) lines.push(`${word}${i === 0 ? '' : `(${i + 1})`} ${phones}`);
  }
  for (const phone of PHONES) lines.push(`ph_${phone.toLowerCase()} ${phone}`);
  return `${lines.join('\n')}\n`;
}

function grammarFile(words: readonly string[]): string {
  return [
    '#JSGF V1.0;',
    'grammar reading;',
    `<word> = ${words.join(' | ')};`,
    `<phone> = ${PHONES.map((p) => `ph_${p.toLowerCase()}`).join(' | ')};`,
    'public <reading> = ( <word> | <phone> )* ;',
    '',
  ].join('\n');
}

interface TimedWord {
  readonly word: string;
  readonly start: number;
  readonly end: number;
}

/** `-time yes` lines: "word start end confidence"; fillers and sentence marks are dropped. */
function parseTimedWords(output: string): TimedWord[] {
  const words: TimedWord[] = [];
  for (const line of output.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 4 || !parts.slice(1).every((p) => /^-?\d+(\.\d+)?$/.test(p))) continue;
    const word = (parts[0] ?? '').replace(/\(\d+\)$/, '');
    if (word === '' || word.startsWith('<') || word.startsWith('[') || word === '(NULL)') continue;
    words.push({ word, start: Number(parts[1]), end: Number(parts[2]) });
  }
  return words;
}

/** Longest common subsequence of expected and heard words, each expected word weighted by its phones. */
function align(expected: readonly string[], heard: readonly TimedWord[], dictionary: Map<string, string[]>): HeardWord[] {
  const weight = expected.map((w) => dictionary.get(w)?.[0]?.split(' ').length ?? 0);
  const n = expected.length;
  const m = heard.length;
  const table = Array.from({ length: n + 1 }, () => new Float64Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i]![j] = expected[i] === heard[j]!.word ? weight[i]! + table[i + 1]![j + 1]! : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const result: HeardWord[] = [];
  let i = 0;
  let j = 0;
  while (i < n) {
    const word = expected[i]!;
    if (j < m && word === heard[j]!.word && table[i]![j] === weight[i]! + table[i + 1]![j + 1]!) {
      result.push({ word, heard: true, start: heard[j]!.start, end: heard[j]!.end, weight: weight[i]!, distance: null });
      i++;
      j++;
    } else if (j < m && table[i]![j + 1]! >= table[i + 1]![j]!) {
      j++;
    } else {
      result.push({ word, heard: false, start: null, end: null, weight: weight[i]!, distance: null });
      i++;
    }
  }
  return result;
}

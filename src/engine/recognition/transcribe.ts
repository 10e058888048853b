import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resample } from '../audio/resampler.ts';
import { encodeWav } from '../audio/wav.ts';
import type { PcmChunk } from '../pcm.ts';
import { RecognizerUnavailableError } from './reading-recognition.ts';
import { runTool } from './run-tool.ts';
import { DEFAULT_SPHINX_MODEL_DIR } from './sphinx-recognizer.ts';

/**
 * Free transcription: what was said, with word times, by CMU Sphinx
 * (`pocketsphinx_continuous`) with Debian's US English acoustic model, trigram
 * language model and dictionary. Used where the words matter more than their
 * spelling: the classic backend renders them with its base voice to get
 * parallel frames from speech that did not follow the script. Its word error
 * rate on ordinary read speech is high (LibriSpeech test-other: roughly half
 * the words), but the words it picks sound like what was said, which is what
 * the frame alignment needs.
 *
 * English only: no offline Mandarin model ships as a Debian package, so
 * `transcribe` refuses other languages with `RecognizerUnavailableError`.
 */
export interface TranscribedWord {
  /** Lower case, without the dictionary's pronunciation variant suffix. */
  readonly word: string;
  /** Seconds from the start of the audio. */
  readonly start: number;
  readonly end: number;
}

export interface Transcript {
  readonly language: 'en';
  readonly method: 'pocketsphinx-en-us-trigram';
  readonly words: readonly TranscribedWord[];
}

export interface TranscribeOptions {
  readonly language: string;
  readonly signal?: AbortSignal;
  readonly modelDir?: string;
  readonly binary?: string;
}

const SPHINX_RATE = 16_000;
/** A minute of speech decodes in about 15 s of one core, minutes on a crowded machine; past this something is wrong. */
const TIMEOUT_MS = 5 * 60_000;

export async function transcribe(pcm: PcmChunk, options: TranscribeOptions): Promise<Transcript> {
  if (options.language.toLowerCase().split(/[-_]/)[0] !== 'en') {
    throw new RecognizerUnavailableError(`no offline recogniser for "${options.language}" (only US English: Debian's pocketsphinx-en-us)`);
  }
  const modelDir = options.modelDir ?? DEFAULT_SPHINX_MODEL_DIR;
  const audio = encodeWav({ samples: resample(pcm.samples, pcm.sampleRate, SPHINX_RATE), sampleRate: SPHINX_RATE }, 16);
  // The decoder opens its input by name (Node's stdin pipe is a socket it cannot open):
  // a private folder (mkdtemp makes it 0700), removed in `finally`.
  const dir = await mkdtemp(join(tmpdir(), 'vocalis-transcribe-'));
  try {
    const wav = join(dir, 'speech.wav');
    await writeFile(wav, audio, { mode: 0o600 });
    const output = await runTool(
      options.binary ?? 'pocketsphinx_continuous',
      [
        '-infile',
        wav,
        '-hmm',
        join(modelDir, 'en-us'),
        '-lm',
        join(modelDir, 'en-us.lm.bin'),
        '-dict',
        join(modelDir, 'cmudict-en-us.dict'),
        // Phone-loop lookahead and tighter beams: half the CPU (0.24 s per second of
        // speech on one core instead of 0.46) for the same words on test-other clips.
        '-pl_window',
        '5',
        '-maxhmmpf',
        '3000',
        '-topn',
        '2',
        '-time',
        'yes',
        '-logfn',
        '/dev/null',
      ],
      null,
      { timeoutMs: TIMEOUT_MS, ...(options.signal ? { signal: options.signal } : {}) },
    );
    return { language: 'en', method: 'pocketsphinx-en-us-trigram', words: parseTimedWords(output.toString('utf8')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `-time yes` prints "word start end confidence" per line; sentence marks, silences and fillers are dropped. */
export function parseTimedWords(output: string): TranscribedWord[] {
  const words: TranscribedWord[] = [];
  for (const line of output.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 4 || !parts.slice(1).every((p) => /^-?\d+(\.\d+)?$/.test(p))) continue;
    const word = (parts[0] ?? '').replace(/\(\d+\)$/, '').toLowerCase();
    if (word === '' || word.startsWith('<') || word.startsWith('[') || word === '(null)') continue;
    words.push({ word, start: Number(parts[1]), end: Number(parts[2]) });
  }
  return words;
}

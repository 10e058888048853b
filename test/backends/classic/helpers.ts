import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FineTuneProgress, SampleSource, VoiceFiles, LoadedVoice } from '../../../src/engine/backend.ts';
import type { ReadingScript } from '../../../src/consent/reading-script.ts';
import type { PcmChunk } from '../../../src/engine/pcm.ts';
import { decodeAudioFile } from '../../../src/engine/audio/decode.ts';

/** Test doubles and data access for the classic backend's tests and bench. */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const DATA_DIR = path.resolve(repoRoot, '../shared/data');

/** Absolute path of a shared data file; fails loudly, naming the file, when it is missing. */
export function dataPath(relative: string): string {
  const full = path.join(DATA_DIR, relative);
  if (!existsSync(full)) throw new Error(`missing test data file: ${full} (see ../shared/data/README.md)`);
  return full;
}

/** Decodes an audio file (FLAC via ffmpeg, WAV in-process) to mono float PCM at 16 kHz. */
export async function decodeAudio(file: string, sampleRate = 16_000): Promise<Float32Array> {
  return (await decodeAudioFile(file, { sampleRate })).samples;
}

export interface Prompt {
  readonly file: string;
  readonly text: string;
}

/** Allison's prompts with their transcripts, in transcript order. */
export function allisonPrompts(): Prompt[] {
  const tsv = readFileSync(dataPath('allison-prompts/transcripts.tsv'), 'utf8');
  return tsv
    .split('\n')
    .slice(1)
    .map((line) => line.split('\t'))
    .filter((cols): cols is [string, string] => cols.length >= 2 && cols[0]!.length > 0)
    .map(([file, text]) => ({ file: dataPath(`allison-prompts/${file}`), text: text.trim() }));
}

export function concatenate(parts: readonly Float32Array[], gapSeconds = 0.3, sampleRate = 16_000): Float32Array {
  const gap = Math.round(gapSeconds * sampleRate);
  const total = parts.reduce((s, p) => s + p.length + gap, 0);
  const out = new Float32Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length + gap;
  }
  return out;
}

/** In-memory SampleSource: the engine would decrypt and resample; tests hand over 16 kHz PCM. */
export class MemorySample implements SampleSource {
  readonly script: ReadingScript | null;
  readonly #pcm: Float32Array;
  readonly #rate: number;

  constructor(pcm: Float32Array, script: ReadingScript | null, rate = 16_000) {
    this.#pcm = pcm;
    this.script = script;
    this.#rate = rate;
  }

  async read(sampleRate: number): Promise<PcmChunk> {
    if (sampleRate !== this.#rate) throw new Error(`MemorySample holds ${this.#rate} Hz audio, asked for ${sampleRate} Hz`);
    return { samples: this.#pcm, sampleRate };
  }
}

/** In-memory VoiceFiles: plain bytes by name. */
export class MemoryFiles implements VoiceFiles {
  readonly files = new Map<string, Uint8Array>();

  async write(name: string, data: Uint8Array): Promise<void> {
    this.files.set(name, data.slice());
  }

  async read(name: string): Promise<Uint8Array> {
    const data = this.files.get(name);
    if (!data) throw new Error(`no file ${name}`);
    return data.slice();
  }

  async has(name: string): Promise<boolean> {
    return this.files.has(name);
  }
}

export function fineTuneContext(sample: SampleSource, files: VoiceFiles, signal = new AbortController().signal) {
  const progress: FineTuneProgress[] = [];
  return {
    progress,
    context: {
      voiceId: 'test-voice',
      sample,
      files,
      scratchDir: '/nonexistent-scratch',
      signal,
      progress: (update: FineTuneProgress) => progress.push(update),
    },
  };
}

/** Runs a synthesis request to the end and joins the chunks. */
export async function speakAll(voice: LoadedVoice, text: string, language = 'en', speed = 1): Promise<Float32Array> {
  const chunks: Float32Array[] = [];
  for await (const chunk of voice.synthesize({ text, language, speed, variability: 0, signal: new AbortController().signal })) {
    chunks.push(chunk.samples);
  }
  return concatenate(chunks, 0);
}

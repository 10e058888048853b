/** Test helpers: in-memory voice files, synthetic "speech" samples, fixture model directories. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SampleSource, VoiceFiles } from '../../../src/engine/backend.ts';
import type { ReadingScript } from '../../../src/consent/reading-script.ts';
import type { PcmChunk } from '../../../src/engine/pcm.ts';
import { writeFixtureModels } from './fixtures/fixture-graphs.ts';
import type { FixtureDirOptions } from './fixtures/fixture-graphs.ts';

export class MemoryVoiceFiles implements VoiceFiles {
  readonly files = new Map<string, Uint8Array>();
  async write(name: string, data: Uint8Array): Promise<void> {
    this.files.set(name, data.slice());
  }
  async read(name: string): Promise<Uint8Array> {
    const data = this.files.get(name);
    if (!data) throw new Error(`no voice file ${name}`);
    return data.slice();
  }
  async has(name: string): Promise<boolean> {
    return this.files.has(name);
  }
}

export interface SyntheticVoice {
  /** Fundamental frequency in Hz: what makes one synthetic speaker differ from another. */
  readonly f0: number;
  readonly level: number;
  readonly phrases?: number;
}

/** Phrases of harmonic tone with a syllable-rate envelope, 2.4 s each, separated by 0.5 s pauses. */
export function syntheticSpeech(voice: SyntheticVoice, sampleRate: number): PcmChunk {
  const phrase = 2.4;
  const pause = 0.5;
  const count = voice.phrases ?? 8;
  const samples = new Float32Array(Math.round((0.5 + count * (phrase + pause)) * sampleRate));
  for (let p = 0; p < count; p++) {
    const start = Math.round((0.5 + p * (phrase + pause)) * sampleRate);
    for (let i = 0; i < phrase * sampleRate; i++) {
      const t = i / sampleRate;
      const envelope = 0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * t);
      let s = 0;
      for (let h = 1; h <= 4; h++) s += Math.sin(2 * Math.PI * voice.f0 * h * t) / h;
      samples[start + i] = voice.level * envelope * s * 0.5;
    }
  }
  return { samples, sampleRate };
}

export function sampleSource(voice: SyntheticVoice, script: ReadingScript | null): SampleSource {
  return { script, read: async (rate: number) => syntheticSpeech(voice, rate) };
}

export const SCRIPT: ReadingScript = {
  language: 'en',
  sentences: [
    'I agree that Vocalis may clone my voice, code seven four two.',
    'The quick brown fox jumps over the lazy dog.',
    'She sells sea shells by the sea shore.',
    'A journey of a thousand miles begins with one step.',
    'Please call Stella and ask her to bring these things.',
    'The rainbow is a division of white light.',
    'We will meet again at noon tomorrow.',
    'Thank you for listening to my voice.',
  ],
};

export async function fixtureDir(options: FixtureDirOptions = {}): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vocalis-gsv-'));
  await writeFixtureModels(dir, options);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function collect(stream: AsyncIterable<PcmChunk>): Promise<{ chunks: PcmChunk[]; samples: Float32Array }> {
  const chunks: PcmChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const samples = new Float32Array(chunks.reduce((n, c) => n + c.samples.length, 0));
  let at = 0;
  for (const c of chunks) {
    samples.set(c.samples, at);
    at += c.samples.length;
  }
  return { chunks, samples };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}

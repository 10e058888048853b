import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createClassicBackend } from '../../../src/engine/backends/classic/index.ts';
import { analyse } from '../../../src/engine/features/analysis.ts';
import { compareFeatures, cosineSimilarity, speakerEmbedding } from '../../../src/engine/features/metrics.ts';
import { baseVoiceById, renderBase } from '../../../src/engine/backends/classic/render.ts';
import { allisonPrompts, concatenate, dataPath, decodeAudio, fineTuneContext, MemoryFiles, MemorySample, speakAll } from './helpers.ts';
import { EVALUATION_SENTENCES, TRAINING_SENTENCES } from './sentences.ts';

/**
 * The metric directions, on shorter material than the bench (which
 * uses the full 60 s): MCD converted vs unconverted, and speaker similarity.
 */
const never = new AbortController().signal;

async function meanMcd(pairs: ReadonlyArray<readonly [Float32Array, Float32Array]>): Promise<number> {
  let sum = 0;
  for (const [reference, test] of pairs) sum += compareFeatures(analyse(reference), analyse(test)).mcdDb;
  return sum / pairs.length;
}

for (const [from, to] of [
  ['flite-slt', 'flite-awb'],
  ['flite-kal16', 'flite-rms'],
] as const) {
  test(`flite ${from} -> ${to}: conversion beats the unconverted voice by at least 1.5 dB MCD`, async () => {
    const target = baseVoiceById(to);
    const source = baseVoiceById(from);
    const train = TRAINING_SENTENCES.slice(0, 12);
    const reading = [];
    for (const s of train) reading.push(await renderBase(target, s));
    const backend = createClassicBackend({ baseVoices: [from], mixtures: [1, 2, 4, 8] });
    const files = new MemoryFiles();
    const { context } = fineTuneContext(new MemorySample(concatenate(reading, 0.3), { language: 'en', sentences: train }), files);
    const result = await backend.fineTune(context);
    assert.equal(result.metrics['scriptMatched'], 1);
    const voice = await backend.loadVoice(files, never);
    const before: Array<readonly [Float32Array, Float32Array]> = [];
    const after: Array<readonly [Float32Array, Float32Array]> = [];
    for (const s of EVALUATION_SENTENCES.slice(0, 3)) {
      const reference = await renderBase(target, s);
      before.push([reference, await renderBase(source, s)]);
      after.push([reference, await speakAll(voice, s)]);
    }
    const mcdBefore = await meanMcd(before);
    const mcdAfter = await meanMcd(after);
    assert.ok(mcdBefore - mcdAfter >= 1.5, `MCD before ${mcdBefore.toFixed(2)} dB, after ${mcdAfter.toFixed(2)} dB`);
  });
}

test('allison prompts: trained on a reading of known text, converted speech beats unconverted on other prompts', async () => {
  const prompts = allisonPrompts();
  const train = prompts.slice(0, 40).filter((_, i) => i % 3 === 0); // ~13 prompts, about 30 s
  const evaluate = prompts.slice(100, 103);
  const audio = [];
  for (const p of train) audio.push(await decodeAudio(p.file));
  const backend = createClassicBackend({ baseVoices: ['flite-slt', 'flite-awb'], mixtures: [1, 2, 4, 8] });
  const files = new MemoryFiles();
  const { context } = fineTuneContext(new MemorySample(concatenate(audio, 0.4), { language: 'en', sentences: train.map((p) => p.text) }), files);
  const result = await backend.fineTune(context);
  assert.equal(result.metrics['scriptMatched'], 1);
  const model = JSON.parse(new TextDecoder().decode(await files.read('classic-model.json'))) as { baseVoice: string };
  assert.equal(model.baseVoice, 'flite-slt', 'the female base voice is nearest to a female speaker');
  const voice = await backend.loadVoice(files, never);
  const before: Array<readonly [Float32Array, Float32Array]> = [];
  const after: Array<readonly [Float32Array, Float32Array]> = [];
  for (const p of evaluate) {
    const reference = await decodeAudio(p.file);
    before.push([reference, await renderBase(baseVoiceById(model.baseVoice), p.text)]);
    after.push([reference, await speakAll(voice, p.text)]);
  }
  const mcdBefore = await meanMcd(before);
  const mcdAfter = await meanMcd(after);
  assert.ok(mcdAfter < mcdBefore - 1, `MCD before ${mcdBefore.toFixed(2)} dB, after ${mcdAfter.toFixed(2)} dB`);
});

test('librispeech: speech converted towards a speaker is closer to them than the base voice and than most of the pool', async () => {
  const poolDir = dataPath('librispeech/pool');
  const poolFiles = readdirSync(poolDir)
    .filter((f) => f.endsWith('.flac'))
    .sort()
    .slice(0, 30);
  assert.ok(poolFiles.length === 30, 'the pool has at least 30 speakers');
  const pool = [];
  for (const f of poolFiles) pool.push(speakerEmbedding(await decodeAudio(`${poolDir}/${f}`)));
  const backend = createClassicBackend({ baseVoices: ['flite-slt', 'flite-awb', 'flite-rms'] });
  const text = 'When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow.';
  for (const speaker of ['1998', '2414']) {
    const dir = dataPath(`librispeech/test-other/${speaker}`);
    const flacs = readdirSync(dir)
      .filter((f) => f.endsWith('.flac'))
      .sort();
    const audio = [];
    for (const f of flacs) audio.push(await decodeAudio(`${dir}/${f}`));
    const files = new MemoryFiles();
    // No transcript: this exercises the statistics-matching path on ~30 s.
    const trainAudio = concatenate(audio.slice(0, 4));
    await backend.prepareSample(new MemorySample(trainAudio, null), files, never);
    const model = JSON.parse(new TextDecoder().decode(await files.read('classic-model.json'))) as { baseVoice: string };
    const voice = await backend.loadVoice(files, never);
    const real = speakerEmbedding(concatenate(audio.slice(4)));
    const converted = speakerEmbedding(await speakAll(voice, text));
    const base = speakerEmbedding(await renderBase(baseVoiceById(model.baseVoice), text));
    const simConverted = cosineSimilarity(converted, real);
    const simBase = cosineSimilarity(base, real);
    assert.ok(simConverted > simBase, `${speaker}: converted ${simConverted.toFixed(3)} vs base ${simBase.toFixed(3)}`);
    const closerThan = pool.filter((p) => cosineSimilarity(converted, p) < simConverted).length;
    assert.ok(closerThan > pool.length / 2, `${speaker}: closer to the speaker than to ${closerThan}/${pool.length} pool voices`);
  }
});

import { readdirSync } from 'node:fs';
import { createClassicBackend } from '../src/engine/backends/classic/index.ts';
import { analyse } from '../src/engine/backends/classic/analysis.ts';
import { compareFeatures, cosineSimilarity, speakerEmbedding, type Comparison } from '../src/engine/backends/classic/metrics.ts';
import { baseVoiceById, renderBase } from '../src/engine/backends/classic/render.ts';
import type { LoadedVoice, VoiceBackend } from '../src/engine/backend.ts';
import {
  allisonPrompts,
  concatenate,
  dataPath,
  decodeAudio,
  fineTuneContext,
  MemoryFiles,
  MemorySample,
  speakAll,
} from '../test/backends/classic/helpers.ts';
import { EVALUATION_SENTENCES, TRAINING_SENTENCES } from '../test/backends/classic/sentences.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * Classic backend figures: MCD and F0 RMSE before/after conversion (flite
 * pairs and Allison's prompts, held-out text), speaker similarity on
 * LibriSpeech against the whole pool, fine-tune time for 60 s, synthesis
 * real-time factor and time to first audio.
 */
const never = new AbortController().signal;

interface Averages {
  mcd: number;
  f0Hz: number;
}

function average(list: readonly Comparison[]): Averages {
  const finite = (xs: number[]): number[] => xs.filter((x) => Number.isFinite(x));
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  return { mcd: mean(finite(list.map((c) => c.mcdDb))), f0Hz: mean(finite(list.map((c) => c.f0RmseHz))) };
}

async function trainOn(backend: VoiceBackend, pcm: Float32Array, sentences: readonly string[] | null) {
  const files = new MemoryFiles();
  const { context } = fineTuneContext(new MemorySample(pcm, sentences ? { language: 'en', sentences } : null), files);
  const started = performance.now();
  const result = await backend.fineTune(context);
  const seconds = (performance.now() - started) / 1000;
  const model = JSON.parse(new TextDecoder().decode(await files.read('classic-model.json'))) as { baseVoice: string };
  return { result, seconds, voice: await backend.loadVoice(files, never), baseVoice: model.baseVoice };
}

async function beforeAfter(voice: LoadedVoice, baseVoice: string, items: ReadonlyArray<{ text: string; reference: Float32Array }>) {
  const before: Comparison[] = [];
  const after: Comparison[] = [];
  for (const item of items) {
    const reference = analyse(item.reference);
    before.push(compareFeatures(reference, analyse(await renderBase(baseVoiceById(baseVoice), item.text))));
    after.push(compareFeatures(reference, analyse(await speakAll(voice, item.text))));
  }
  return { before: average(before), after: average(after) };
}

async function flitePair(from: string, to: string): Promise<BenchFigure[]> {
  const target = baseVoiceById(to);
  const reading = [];
  for (const s of TRAINING_SENTENCES) reading.push(await renderBase(target, s));
  const backend = createClassicBackend({ baseVoices: [from] });
  const trained = await trainOn(backend, concatenate(reading, 0.3), TRAINING_SENTENCES);
  const items = [];
  for (const text of EVALUATION_SENTENCES) items.push({ text, reference: await renderBase(target, text) });
  const { before, after } = await beforeAfter(trained.voice, from, items);
  const pair = `${from.replace('flite-', '')}->${to.replace('flite-', '')}`;
  return [
    { metric: `${pair} MCD unconverted`, value: before.mcd, unit: 'dB' },
    { metric: `${pair} MCD converted`, value: after.mcd, unit: 'dB', target: `<= unconverted - 1.5` },
    { metric: `${pair} F0 RMSE unconverted`, value: before.f0Hz, unit: 'Hz' },
    { metric: `${pair} F0 RMSE converted`, value: after.f0Hz, unit: 'Hz' },
    { metric: `${pair} mixtures chosen`, value: trained.result.metrics['mixtures'] ?? NaN, unit: '' },
  ];
}

async function allison(): Promise<{ figures: BenchFigure[]; voice: LoadedVoice }> {
  const prompts = allisonPrompts();
  const train: typeof prompts = [];
  const audio: Float32Array[] = [];
  let seconds = 0;
  for (const p of prompts) {
    const pcm = await decodeAudio(p.file);
    if (pcm.length / 16_000 > 8) continue; // keep many short prompts rather than a few long ones
    if (seconds + pcm.length / 16_000 > 60) break;
    train.push(p);
    audio.push(pcm);
    seconds += pcm.length / 16_000;
  }
  const backend = createClassicBackend();
  const sample = concatenate(audio, 0.4);
  const preparedAt = performance.now();
  await backend.prepareSample(new MemorySample(sample, null), new MemoryFiles(), never);
  const prepareSeconds = (performance.now() - preparedAt) / 1000;
  const trained = await trainOn(backend, sample, train.map((p) => p.text));
  const warm = await trainOn(backend, sample, train.map((p) => p.text));
  const rest = prompts.slice(prompts.indexOf(train[train.length - 1]!) + 1).filter((_, i) => i % 8 === 0).slice(0, 10);
  const items = [];
  for (const p of rest) items.push({ text: p.text, reference: await decodeAudio(p.file) });
  const { before, after } = await beforeAfter(trained.voice, trained.baseVoice, items);
  const m = trained.result.metrics;
  return {
    voice: trained.voice,
    figures: [
      { metric: 'allison training audio', value: seconds, unit: 's', target: '<= 60' },
      { metric: 'allison prepareSample time (first use: base voices calibrated)', value: prepareSeconds, unit: 's' },
      { metric: 'allison fine-tune time (60 s sample)', value: trained.seconds, unit: 's', target: '<= 20' },
      { metric: 'allison fine-tune time, second run', value: warm.seconds, unit: 's', target: '<= 20' },
      { metric: 'allison validation MCD', value: m['validationMcdDb'] ?? NaN, unit: 'dB' },
      { metric: 'allison validation MCD unconverted', value: m['validationMcdUnconvertedDb'] ?? NaN, unit: 'dB' },
      { metric: 'allison mixtures chosen', value: m['mixtures'] ?? NaN, unit: '' },
      { metric: 'allison script match score', value: m['matchScore'] ?? NaN, unit: '', target: '<= 0.94' },
      { metric: 'allison held-out MCD unconverted', value: before.mcd, unit: 'dB' },
      { metric: 'allison held-out MCD converted', value: after.mcd, unit: 'dB', target: '< unconverted' },
      { metric: 'allison held-out F0 RMSE unconverted', value: before.f0Hz, unit: 'Hz' },
      { metric: 'allison held-out F0 RMSE converted', value: after.f0Hz, unit: 'Hz' },
    ],
  };
}

async function similarity(): Promise<BenchFigure[]> {
  const poolDir = dataPath('librispeech/pool');
  const pool = [];
  for (const f of readdirSync(poolDir).filter((n) => n.endsWith('.flac')).sort()) pool.push(speakerEmbedding(await decodeAudio(`${poolDir}/${f}`)));
  const backend = createClassicBackend();
  const text =
    'When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow. The rainbow is a division of white light into many beautiful colors.';
  const speakers = ['1688', '1998', '2033', '2414', '3005', '3331', '367'];
  let converted = 0;
  let base = 0;
  let rank = 0;
  let closerThanBase = 0;
  for (const speaker of speakers) {
    const dir = dataPath(`librispeech/test-other/${speaker}`);
    const audio = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.flac')).sort()) audio.push(await decodeAudio(`${dir}/${f}`));
    let k = 0;
    let seconds = 0;
    while (k < audio.length - 1 && seconds < 60) seconds += audio[k++]!.length / 16_000;
    const trained = await trainOn(backend, concatenate(audio.slice(0, k)), null);
    const real = speakerEmbedding(concatenate(audio.slice(k)));
    const conv = speakerEmbedding(await speakAll(trained.voice, text));
    const raw = speakerEmbedding(await renderBase(baseVoiceById(trained.baseVoice), text));
    const sc = cosineSimilarity(conv, real);
    const sb = cosineSimilarity(raw, real);
    converted += sc / speakers.length;
    base += sb / speakers.length;
    if (sc > sb) closerThanBase++;
    rank += pool.filter((p) => cosineSimilarity(conv, p) < sc).length / pool.length / speakers.length;
  }
  return [
    { metric: 'librispeech similarity converted->speaker', value: converted, unit: 'cosine' },
    { metric: 'librispeech similarity base->speaker', value: base, unit: 'cosine', target: '< converted' },
    { metric: 'librispeech speakers closer after conversion', value: closerThanBase, unit: `of ${speakers.length}` },
    { metric: 'librispeech pool voices farther than speaker', value: 100 * rank, unit: '%', target: '> 50' },
  ];
}

async function speed(voice: LoadedVoice): Promise<BenchFigure[]> {
  const sentence = 'Please leave a short message after the tone and we will call you back.'; // 12 words
  const firsts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    for await (const _chunk of voice.synthesize({ text: sentence, language: 'en', speed: 1, variability: 0, signal: never })) {
      firsts.push(performance.now() - started);
      break;
    }
  }
  firsts.sort((a, b) => a - b);
  const paragraph = TRAINING_SENTENCES.join(' ');
  const started = performance.now();
  const audio = await speakAll(voice, paragraph);
  const elapsed = (performance.now() - started) / 1000;
  return [
    { metric: 'time to first audio, 12 words (median of 5)', value: firsts[2]!, unit: 'ms', target: '<= 300' },
    { metric: 'synthesis real-time factor', value: elapsed / (audio.length / 16_000), unit: 'x', target: '<= 0.1' },
  ];
}

const suite: BenchSuite = {
  name: 'classic',
  async run() {
    const figures: BenchFigure[] = [];
    figures.push(...(await flitePair('flite-slt', 'flite-awb')));
    figures.push(...(await flitePair('flite-kal16', 'flite-rms')));
    const a = await allison();
    figures.push(...a.figures);
    figures.push(...(await speed(a.voice)));
    figures.push(...(await similarity()));
    return figures;
  },
};

export default suite;

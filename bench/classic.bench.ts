import { createClassicBackend } from '../src/engine/backends/classic/index.ts';
import { analyse } from '../src/engine/features/analysis.ts';
import { compareFeatures, type Comparison } from '../src/engine/features/metrics.ts';
import { baseVoiceById, renderBase } from '../src/engine/backends/classic/render.ts';
import type { LoadedVoice, VoiceBackend } from '../src/engine/backend.ts';
import { allisonPrompts, concatenate, decodeAudio, fineTuneContext, MemoryFiles, MemorySample, speakAll } from '../test/backends/classic/helpers.ts';
import { EVALUATION_SENTENCES, TRAINING_SENTENCES } from '../test/backends/classic/sentences.ts';
import { LIBRISPEECH_SPEAKERS, librispeechFigures } from './classic-librispeech.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * Classic backend figures: MCD and F0 RMSE before/after conversion (flite
 * pairs and Allison's prompts, held-out text), fine-tune time for 60 s,
 * synthesis real-time factor and time to first audio; then LibriSpeech
 * test-other speakers who never read the script (classic-librispeech.ts):
 * sample completion, conversion path, neural speaker likeness and recognition WER.
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
  const trained = await trainOn(
    backend,
    sample,
    train.map((p) => p.text),
  );
  const warm = await trainOn(
    backend,
    sample,
    train.map((p) => p.text),
  );
  const rest = prompts
    .slice(prompts.indexOf(train[train.length - 1]!) + 1)
    .filter((_, i) => i % 8 === 0)
    .slice(0, 10);
  const items = [];
  for (const p of rest) items.push({ text: p.text, reference: await decodeAudio(p.file) });
  const { before, after } = await beforeAfter(trained.voice, trained.baseVoice, items);
  const m = trained.result.metrics;
  // The sample target is 45 s of net speech: the same reading cut at 45 s, judged on the same held-out prompts.
  let k45 = 0;
  for (let s = 0; k45 < audio.length && s + audio[k45]!.length / 16_000 <= 45; k45++) s += audio[k45]!.length / 16_000;
  const short = await trainOn(
    backend,
    concatenate(audio.slice(0, k45), 0.4),
    train.slice(0, k45).map((p) => p.text),
  );
  const shortAfter = (await beforeAfter(short.voice, short.baseVoice, items)).after;
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
      { metric: 'allison pitch GMM components kept (0 = mean/variance)', value: m['pitchGmm'] ?? NaN, unit: '' },
      { metric: 'allison held-out MCD converted, 45 s sample', value: shortAfter.mcd, unit: 'dB', target: 'about the 60 s figure' },
      { metric: 'allison held-out F0 RMSE converted, 45 s sample', value: shortAfter.f0Hz, unit: 'Hz' },
    ],
  };
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
  // `npm run bench -- classic [--speakers 1688,3331] [--only core|librispeech]`
  async run({ args }) {
    const option = (name: string): string | undefined => {
      const i = args.indexOf(name);
      return i >= 0 ? args[i + 1] : undefined;
    };
    const speakers = option('--speakers')?.split(',') ?? [...LIBRISPEECH_SPEAKERS];
    const figures: BenchFigure[] = [];
    const only = option('--only');
    if (only !== 'librispeech') {
      figures.push(...(await flitePair('flite-slt', 'flite-awb')));
      figures.push(...(await flitePair('flite-kal16', 'flite-rms')));
      const a = await allison();
      figures.push(...a.figures);
      figures.push(...(await speed(a.voice)));
    }
    if (only !== 'core') figures.push(...(await librispeechFigures(speakers)));
    return figures;
  },
};

export default suite;

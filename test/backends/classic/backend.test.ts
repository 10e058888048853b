import { test } from 'vitest';
import assert from 'node:assert/strict';
import { BackendError } from '../../../src/engine/backend.ts';
import { createClassicBackend, MODEL_FILE } from '../../../src/engine/backends/classic/index.ts';
import { baseVoiceById, renderBase } from '../../../src/engine/backends/classic/render.ts';
import { concatenate, fineTuneContext, MemoryFiles, MemorySample, speakAll } from './helpers.ts';

/**
 * The contract end to end with a synthetic "user": flite's rms voice reading a
 * short script, converted from slt. Kept short (about 15 s) for test time.
 */
const SCRIPT = [
  'I agree that my voice may be used to create a synthetic copy, purple elephant seven.',
  'The birch canoe slid on the smooth planks.',
  'Glue the sheet to the dark blue background.',
  'It is easy to tell the depth of a well.',
  'These days a chicken leg is a rare dish.',
  'Rice is often served in round bowls.',
  'The juice of lemons makes fine punch.',
];

const backend = createClassicBackend({ baseVoices: ['flite-slt', 'flite-rms', 'espeak-cmn'], mixtures: [1, 2, 4] });
const never = new AbortController().signal;

async function userReading(sentences: readonly string[], voice = 'flite-rms'): Promise<Float32Array> {
  const parts = [];
  for (const s of sentences) parts.push(await renderBase(baseVoiceById(voice), s));
  return concatenate(parts, 0.4);
}

test('prepareSample writes a statistics model that speaks before any fine-tune', async () => {
  const files = new MemoryFiles();
  const prepared = await backend.prepareSample(new MemorySample(await userReading(SCRIPT), null), files, never);
  assert.equal(prepared.zeroShot, true);
  assert.ok(await files.has(MODEL_FILE));
  const model = JSON.parse(new TextDecoder().decode(await files.read(MODEL_FILE))) as { kind: string; baseVoice: string };
  assert.equal(model.kind, 'statistics');
  assert.equal(model.baseVoice, 'flite-rms', 'the nearest base voice to an rms reading is rms');
  const voice = await backend.loadVoice(files, never);
  const audio = await speakAll(voice, 'Hello');
  assert.ok(audio.length > 1600, 'a one-word text gives audio');
  assert.ok(audio.every((v) => Number.isFinite(v) && Math.abs(v) <= 1));
});

test('fineTune on a matching reading trains a GMM, reports progress and validation MCD', async () => {
  const files = new MemoryFiles();
  const sample = new MemorySample(await userReading(SCRIPT), { language: 'en', sentences: SCRIPT });
  const { context, progress } = fineTuneContext(sample, files);
  const result = await backend.fineTune(context);
  assert.equal(result.metrics['scriptMatched'], 1);
  const mcd = result.metrics['validationMcdDb']!;
  const unconverted = result.metrics['validationMcdUnconvertedDb']!;
  assert.ok(mcd > 0 && mcd < unconverted, `validation MCD ${mcd} must beat unconverted ${unconverted}`);
  // The kept size is exactly the one whose validation MCD was lowest (mixture-search.test.ts holds the rule itself).
  const tried = [1, 2, 4].filter((m) => result.metrics[`validationMcdDb_m${m}`] !== undefined);
  const bestSize = tried.reduce((a, b) => (result.metrics[`validationMcdDb_m${b}`]! < result.metrics[`validationMcdDb_m${a}`]! ? b : a));
  assert.equal(result.metrics['mixtures'], bestSize, `sizes tried: ${tried.map((m) => `${m}: ${result.metrics[`validationMcdDb_m${m}`]}`).join(', ')}`);
  const stages = progress.map((p) => p.stage);
  for (const stage of ['analysing', 'rendering base voice', 'aligning', 'training', 'validating']) assert.ok(stages.includes(stage), stage);
  assert.ok(
    progress.every((p, i) => i === 0 || p.fraction >= progress[i - 1]!.fraction),
    'progress only moves forward',
  );
  const model = JSON.parse(new TextDecoder().decode(await files.read(MODEL_FILE))) as { kind: string };
  assert.equal(model.kind, 'gmm');
  assert.ok((await files.read(MODEL_FILE)).byteLength < 200_000, 'the model is a small file');
});

test('speech after the script (the intake wants more than the script holds) still counts as a reading of it', async () => {
  const files = new MemoryFiles();
  const extra = ['A pot of tea helps to pass the evening.', 'Smoky fires lack flame and heat.', 'The salt breeze came across from the sea.'];
  const sample = new MemorySample(await userReading([...SCRIPT, ...extra]), { language: 'en', sentences: SCRIPT });
  const { context } = fineTuneContext(sample, files);
  const result = await backend.fineTune(context);
  assert.equal(result.metrics['scriptMatched'], 1, `match score ${result.metrics['matchScore']}`);
});

const OTHER = [
  'A large size in stockings is hard to sell.',
  'The boy was there when the sun rose.',
  'A rod is used to catch pink salmon.',
  'The source of the huge river is the clear spring.',
  'Kick the ball straight and follow through.',
  'Help the woman get back to her feet.',
];

test('a reading that does not match the script is transcribed and trains the frame-level GMM, and says so', async () => {
  const files = new MemoryFiles();
  // A speaker who is none of the base voices (flite-rms is one: no conversion could improve on it).
  const sample = new MemorySample(await userReading(OTHER, 'flite-awb'), { language: 'en', sentences: SCRIPT });
  const { context, progress } = fineTuneContext(sample, files);
  const result = await backend.fineTune(context);
  assert.equal(result.metrics['scriptMatched'], 0);
  assert.equal(result.metrics['transcriptMatched'], 1);
  assert.equal(result.metrics['parallelPath'], 1, 'transcript path');
  assert.ok(progress.some((p) => p.stage === 'recognising'));
  const model = JSON.parse(new TextDecoder().decode(await files.read(MODEL_FILE))) as { kind: string; parallel?: string };
  assert.equal(model.kind, 'gmm');
  assert.equal(model.parallel, 'transcript');
  const { validationMcdDb: converted, validationMcdUnconvertedDb: unconverted } = result.metrics;
  assert.ok(converted! < unconverted!, `validation MCD ${converted} dB converted vs ${unconverted} dB unconverted`);
});

test('without recognition (or when it cannot run) a reading that does not match falls back to statistics and says so', async () => {
  const plain = createClassicBackend({ baseVoices: ['flite-slt', 'flite-rms'], mixtures: [1, 2, 4], recognise: false });
  try {
    const files = new MemoryFiles();
    const sample = new MemorySample(await userReading(OTHER), { language: 'en', sentences: SCRIPT });
    const { context } = fineTuneContext(sample, files);
    const result = await plain.fineTune(context);
    assert.equal(result.metrics['scriptMatched'], 0);
    assert.equal(result.metrics['parallelPath'], 0, 'statistics path');
    const model = JSON.parse(new TextDecoder().decode(await files.read(MODEL_FILE))) as { kind: string };
    assert.equal(model.kind, 'statistics');
  } finally {
    await plain.close();
  }
});

test('fineTune stops promptly when aborted', async () => {
  const controller = new AbortController();
  const files = new MemoryFiles();
  const sample = new MemorySample(await userReading(SCRIPT), { language: 'en', sentences: SCRIPT });
  const { context } = fineTuneContext(sample, files, controller.signal);
  const started = performance.now();
  setTimeout(() => controller.abort(new Error('cancelled by test')), 300);
  await assert.rejects(backend.fineTune(context), /cancelled by test/);
  assert.ok(performance.now() - started < 3000, 'abort is honoured within seconds');
  assert.equal(await files.has(MODEL_FILE), false);
});

test('bad requests fail with clear BackendErrors; long text streams clause by clause', async () => {
  const files = new MemoryFiles();
  await backend.prepareSample(new MemorySample(await userReading(SCRIPT.slice(0, 3)), null), files, never);
  const voice = await backend.loadVoice(files, never);
  await assert.rejects(speakAll(voice, '   '), (err: unknown) => err instanceof BackendError && err.code === 'empty_text');
  await assert.rejects(
    speakAll(voice, 'Bonjour', 'fr'),
    (err: unknown) => err instanceof BackendError && err.code === 'unsupported_language' && err.message.includes('supported: en, zh'),
  );
  // 5,000 characters: the first clause arrives long before the whole text could be rendered; then we stop.
  const long = 'We keep talking about the weather, the trains and the price of bread. '.repeat(72).slice(0, 5000);
  const controller = new AbortController();
  const started = performance.now();
  let chunks = 0;
  await assert.rejects(async () => {
    for await (const chunk of voice.synthesize({ text: long, language: 'en', speed: 1, variability: 0, signal: controller.signal })) {
      assert.equal(chunk.sampleRate, 16_000);
      chunks++;
      if (chunks === 1) assert.ok(performance.now() - started < 3000, 'first clause of a long text comes quickly');
      if (chunks === 3) controller.abort(new Error('listener left'));
    }
  }, /listener left/);
  assert.equal(chunks, 3);
});

test('speed changes the speaking rate; Mandarin speaks through espeak-ng', async () => {
  const files = new MemoryFiles();
  await backend.prepareSample(new MemorySample(await userReading(SCRIPT.slice(0, 4)), null), files, never);
  const voice = await backend.loadVoice(files, never);
  const text = 'The birch canoe slid on the smooth planks.';
  const normal = await speakAll(voice, text, 'en', 1);
  const fast = await speakAll(voice, text, 'en', 1.5);
  assert.ok(fast.length < normal.length * 0.85, `speed 1.5 should be shorter: ${fast.length} vs ${normal.length}`);
  const zh = await speakAll(voice, '你好，世界。今天天气很好。', 'zh');
  assert.ok(zh.length > 16_000 * 0.8, 'Mandarin audio comes out');
});

test('a corrupt model file and a script in an unsupported language are refused clearly', async () => {
  const files = new MemoryFiles();
  await files.write(MODEL_FILE, new TextEncoder().encode('{"format":"something-else"}'));
  await assert.rejects(backend.loadVoice(files, never), (err: unknown) => err instanceof BackendError && err.code === 'model_corrupt');
  const sample = new MemorySample(await userReading(SCRIPT.slice(0, 3)), { language: 'de', sentences: SCRIPT.slice(0, 3) });
  const { context } = fineTuneContext(sample, new MemoryFiles());
  await assert.rejects(
    backend.fineTune(context),
    (err: unknown) => err instanceof BackendError && err.code === 'unsupported_language' && err.message.includes('supported: en, zh'),
  );
});

test('a sample with too little speech is refused', async () => {
  const silence = new Float32Array(16_000 * 5);
  const short = await renderBase(baseVoiceById('flite-rms'), 'Hi.');
  await assert.rejects(
    backend.prepareSample(new MemorySample(concatenate([silence, short]), null), new MemoryFiles(), never),
    (err: unknown) => err instanceof BackendError && err.code === 'sample_too_short',
  );
});

test('the first clause of a 12-word sentence comes out before the rest is converted', async () => {
  const files = new MemoryFiles();
  await backend.prepareSample(new MemorySample(await userReading(SCRIPT.slice(0, 3)), null), files, never);
  const voice = await backend.loadVoice(files, never);
  const sentence = 'Please leave a short message after the tone and we will call you back.';
  await speakAll(voice, 'Warm up.'); // JIT and base-voice calibration out of the measurement
  const started = performance.now();
  const arrivals: number[] = [];
  for await (const chunk of voice.synthesize({ text: sentence, language: 'en', speed: 1, variability: 0, signal: never })) {
    assert.ok(chunk.samples.length > 0);
    arrivals.push(performance.now() - started);
  }
  assert.ok(arrivals.length >= 2, 'the sentence streams in more than one chunk');
  // The bench measures the real figure (target 300 ms); this bound only catches
  // a regression to rendering everything before the first chunk, on a busy CI machine.
  assert.ok(arrivals[0]! < 1500, `first audio after ${arrivals[0]!.toFixed(0)} ms`);
  assert.ok(arrivals[0]! < arrivals[arrivals.length - 1]!);
});

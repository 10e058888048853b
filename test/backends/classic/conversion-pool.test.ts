import { test } from 'vitest';
import assert from 'node:assert/strict';
import { BackendError, type LoadedVoice } from '../../../src/engine/backend.ts';
import { ConversionPool } from '../../../src/engine/backends/classic/conversion-pool.ts';
import { conversionOf, type Conversion } from '../../../src/engine/backends/classic/convert.ts';
import { convertClause } from '../../../src/engine/backends/classic/convert-clause.ts';
import { createClassicBackend, MODEL_FILE } from '../../../src/engine/backends/classic/index.ts';
import { decodeModel } from '../../../src/engine/backends/classic/model.ts';
import { baseVoiceById, renderBase } from '../../../src/engine/backends/classic/render.ts';
import { splitClauses } from '../../../src/engine/backends/classic/text.ts';
import { concatenate, fineTuneContext, MemoryFiles, MemorySample, speakAll } from './helpers.ts';

/**
 * The worker pool must give exactly the samples the in-thread path gave, keep
 * voices apart under concurrency, honour aborts at once and survive failures.
 */
const SCRIPT = [
  'I agree that my voice may be used to create a synthetic copy, purple elephant seven.',
  'The birch canoe slid on the smooth planks.',
  'Glue the sheet to the dark blue background.',
  'It is easy to tell the depth of a well.',
  'These days a chicken leg is a rare dish.',
];
const TEXT = 'The juice of lemons makes fine punch, and rice is often served in round bowls.';
const never = new AbortController().signal;

// Two workers, so concurrent clauses really run in parallel.
const backend = createClassicBackend({ baseVoices: ['flite-slt', 'flite-rms', 'flite-awb'], mixtures: [1, 2], conversionWorkers: 2 });

async function reading(baseVoice: string, sentences: readonly string[]): Promise<Float32Array> {
  const parts = [];
  for (const s of sentences) parts.push(await renderBase(baseVoiceById(baseVoice), s));
  return concatenate(parts, 0.4);
}

/** A statistics voice from a reading by `baseVoice`, or a GMM voice when `gmm`. */
async function voiceFrom(baseVoice: string, gmm: boolean): Promise<{ voice: LoadedVoice; files: MemoryFiles }> {
  const files = new MemoryFiles();
  const audio = await reading(baseVoice, gmm ? SCRIPT : SCRIPT.slice(0, 3));
  if (gmm) await backend.fineTune(fineTuneContext(new MemorySample(audio, { language: 'en', sentences: SCRIPT }), files).context);
  else await backend.prepareSample(new MemorySample(audio, null), files, never);
  return { voice: await backend.loadVoice(files, never), files };
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'same length');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

const gmmVoice = voiceFrom('flite-rms', true);

test('a voice through the pool gives the in-thread samples, clause by clause and in order', async () => {
  const { voice, files } = await gmmVoice;
  const model = decodeModel(await files.read(MODEL_FILE));
  assert.equal(model.kind, 'gmm');
  const conversion = conversionOf(model);
  const clauses = splitClauses(TEXT, 'en');
  assert.ok(clauses.length >= 2, 'the text streams in several clauses');
  const expected: Float32Array[] = [];
  for (let i = 0; i < clauses.length; i++) {
    const pcm = await renderBase(baseVoiceById(model.baseVoice), clauses[i]!, { stretch: model.stretch });
    expected.push(convertClause(pcm, conversion, i + 1)); // the in-thread path
  }
  const chunks: Float32Array[] = [];
  for await (const chunk of voice.synthesize({ text: TEXT, language: 'en', speed: 1, variability: 0, signal: never })) chunks.push(chunk.samples);
  assert.equal(chunks.length, expected.length);
  for (let i = 0; i < chunks.length; i++) {
    // A clause that ends a sentence is followed by a pause of 0.25 s at the voice's rate, in the same chunk.
    const pause = i === chunks.length - 1 ? Math.round(0.25 * model.stretch * 16_000) : 0;
    assert.equal(chunks[i]!.length, expected[i]!.length + pause, `clause ${i}: its samples and a pause of ${pause} samples`);
    assert.ok(maxDifference(chunks[i]!.subarray(0, expected[i]!.length), expected[i]!) < 1e-6, `clause ${i} matches`);
    assert.ok(
      chunks[i]!.subarray(expected[i]!.length).every((v) => v === 0),
      `clause ${i}: the pause is silent`,
    );
  }
});

test('one clause through a pool equals the in-thread conversion', async () => {
  const { files } = await gmmVoice;
  const model = decodeModel(await files.read(MODEL_FILE));
  const conversion = conversionOf(model);
  const pcm = await renderBase(baseVoiceById(model.baseVoice), 'Glue the sheet to the dark blue background.');
  const expected = convertClause(pcm, conversion, 3);
  const pool = new ConversionPool({ size: 1 });
  try {
    const copy = pcm.slice();
    const got = await pool.convert({ key: 'k', conversion, pcm: copy, seed: 3, signal: never });
    assert.equal(copy.byteLength, 0, 'the clause was transferred, not copied');
    assert.ok(maxDifference(got, expected) < 1e-6);
    // The cached conversion is used again by key.
    assert.ok(maxDifference(await pool.convert({ key: 'k', conversion, pcm: pcm.slice(), seed: 3, signal: never }), expected) < 1e-6);
  } finally {
    await pool.close();
  }
});

test('a worker holding one conversion evicts and reloads by key without mixing them', async () => {
  const { files } = await gmmVoice;
  const model = decodeModel(await files.read(MODEL_FILE));
  const gmm = conversionOf(model);
  const stats: Conversion = { ...gmm, gmm: null };
  const pcm = await renderBase(baseVoiceById(model.baseVoice), 'It is easy to tell the depth of a well.');
  const expected = [gmm, stats].map((c) => convertClause(pcm, c, 1));
  const pool = new ConversionPool({ size: 1, modelsPerWorker: 1 });
  try {
    for (const round of [0, 1, 0, 1]) {
      const conversion = round === 0 ? gmm : stats;
      const got = await pool.convert({ key: `k${round}`, conversion, pcm: pcm.slice(), seed: 1, signal: never });
      assert.ok(maxDifference(got, expected[round]!) < 1e-6, `conversion ${round}`);
    }
    assert.ok(maxDifference(expected[0]!, expected[1]!) > 1e-3, 'the two conversions differ');
  } finally {
    await pool.close();
  }
});

test('concurrent syntheses for different voices do not mix models', async () => {
  const voices = [(await gmmVoice).voice];
  for (const base of ['flite-slt', 'flite-awb', 'flite-rms']) voices.push((await voiceFrom(base, false)).voice);
  const texts = [TEXT, 'Hello there, this is a test of many voices at once.'];
  const sequential: Float32Array[] = [];
  for (const voice of voices) for (const text of texts) sequential.push(await speakAll(voice, text));
  const concurrent = await Promise.all(voices.flatMap((voice) => texts.map((text) => speakAll(voice, text))));
  assert.equal(concurrent.length, sequential.length);
  for (let i = 0; i < concurrent.length; i++) assert.ok(maxDifference(concurrent[i]!, sequential[i]!) < 1e-6, `request ${i} equals its sequential run`);
  // A disposed voice still finishes a request (its model is not cached again) and then leaves the workers.
  voices[1]!.dispose();
  assert.ok(maxDifference(await speakAll(voices[1]!, texts[1]!), sequential[3]!) < 1e-6);
});

test('an aborted request leaves the queue at once; a running clause is dropped', async () => {
  const { files } = await gmmVoice;
  const conversion = conversionOf(decodeModel(await files.read(MODEL_FILE)));
  const long = await renderBase(baseVoiceById('flite-rms'), SCRIPT.join(' '));
  const pool = new ConversionPool({ size: 1 });
  try {
    const first = new AbortController();
    const second = new AbortController();
    const running = pool.convert({ key: 'k', conversion, pcm: long.slice(), seed: 1, signal: first.signal });
    const queued = [1, 2, 3].map((seed) => pool.convert({ key: 'k', conversion, pcm: long.slice(), seed, signal: second.signal }));
    assert.equal(pool.queued, 3);
    const started = performance.now();
    second.abort(new Error('stopped by /stop'));
    for (const q of queued) await assert.rejects(q, /stopped by \/stop/);
    assert.ok(performance.now() - started < 50, 'queued clauses do not wait for the running one');
    assert.equal(pool.queued, 0);
    first.abort(new Error('revoked'));
    await assert.rejects(running, /revoked/);
    // The worker is still usable afterwards.
    const after = await pool.convert({ key: 'k', conversion, pcm: long.slice(0, 16_000), seed: 1, signal: never });
    assert.ok(after.length > 0);
  } finally {
    await pool.close();
  }
});

test('a failing task rejects clearly; a crashed worker is replaced; close rejects what is queued', async () => {
  const pool = new ConversionPool({ size: 1 });
  try {
    await assert.rejects(
      pool.convert({ key: 'broken', conversion: null as unknown as Conversion, pcm: new Float32Array(8000), seed: 1, signal: never }),
      (err: unknown) => err instanceof BackendError && err.code === 'conversion_failed' && err.message.startsWith('classic conversion failed'),
    );
  } finally {
    await pool.close();
  }
  await assert.rejects(
    pool.convert({ key: 'k', conversion: null as unknown as Conversion, pcm: new Float32Array(1), seed: 1, signal: never }),
    (err: unknown) => err instanceof BackendError && err.code === 'backend_closed',
  );

  // A stand-in worker: echoes the clause, and dies on one marked with 666.
  const source = `import { parentPort } from 'node:worker_threads';
parentPort.on('message', (m) => {
  if (m.type !== 'convert') return;
  if (m.pcm[0] === 666) process.exit(3);
  parentPort.postMessage({ type: 'done', id: m.id, samples: m.pcm }, [m.pcm.buffer]);
});`;
  const crashy = new ConversionPool({ size: 1, workerUrl: new URL(`data:text/javascript,${encodeURIComponent(source)}`) });
  const conversion = null as unknown as Conversion;
  try {
    const doomed = crashy.convert({ key: 'k', conversion, pcm: Float32Array.of(666), seed: 1, signal: never });
    const behind = crashy.convert({ key: 'k', conversion, pcm: Float32Array.of(1, 2), seed: 2, signal: never });
    await assert.rejects(
      doomed,
      (err: unknown) => err instanceof BackendError && err.code === 'conversion_failed' && /worker stopped \(exit code 3/.test(err.message),
    );
    assert.deepEqual([...(await behind)], [1, 2], 'the queued task runs on a replacement worker');
    const slow = crashy.convert({ key: 'k', conversion, pcm: Float32Array.of(5), seed: 1, signal: never });
    const waiting = crashy.convert({ key: 'k', conversion, pcm: Float32Array.of(6), seed: 1, signal: never });
    const closing = crashy.close();
    await assert.rejects(waiting, (err: unknown) => err instanceof BackendError && err.code === 'backend_closed');
    await slow.catch(() => undefined); // either finished or stopped by close
    await closing;
  } finally {
    await crashy.close();
  }
});

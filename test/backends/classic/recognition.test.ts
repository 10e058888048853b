import { test, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createClassicBackend, MODEL_FILE } from '../../../src/engine/backends/classic/index.ts';
import { phrasesOf } from '../../../src/engine/backends/classic/align-transcript.ts';
import { baseVoiceById, renderBase } from '../../../src/engine/backends/classic/render.ts';
import { RecognizerUnavailableError } from '../../../src/engine/recognition/reading-recognition.ts';
import { parseTimedWords, transcribe } from '../../../src/engine/recognition/transcribe.ts';
import { concatenate, dataPath, decodeAudio, fineTuneContext, MemoryFiles, MemorySample } from './helpers.ts';

/**
 * Conversion from any speech: a sample that is not the script is transcribed
 * (pocketsphinx, US English), the words are rendered by the base voice and
 * aligned phrase by phrase, and the frame-level GMM is trained on those pairs.
 * Real LibriSpeech speech, real recogniser.
 */
const backend = createClassicBackend({ baseVoices: ['flite-slt', 'flite-rms', 'flite-awb', 'flite-kal16', 'espeak-cmn'], mixtures: [1, 2, 4, 8] });
afterAll(() => backend.close());

async function speaker(id: string, seconds: number): Promise<Float32Array> {
  const dir = dataPath(`librispeech/test-other/${id}`);
  const parts: Float32Array[] = [];
  let total = 0;
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.flac'))
    .sort()) {
    if (total >= seconds) break;
    const pcm = await decodeAudio(`${dir}/${f}`);
    parts.push(pcm);
    total += pcm.length / 16_000;
  }
  return concatenate(parts, 0.3);
}

test('the recogniser gives words with times inside the audio; about half of the words flite says are recognised', async () => {
  const text = 'The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.';
  const audio = await renderBase(baseVoiceById('flite-rms'), text);
  const transcript = await transcribe({ samples: audio, sampleRate: 16_000 }, { language: 'en-US' });
  const words = transcript.words.map((w) => w.word);
  const expected = text.toLowerCase().replace(/[.]/g, '').split(' ');
  const hits = expected.filter((w) => words.includes(w)).length;
  assert.ok(hits >= expected.length * 0.5, `heard ${words.join(' ')}`);
  for (const [k, w] of transcript.words.entries()) {
    assert.ok(w.start >= 0 && w.end > w.start && w.end <= audio.length / 16_000 + 0.05, `${w.word} ${w.start}-${w.end}`);
    if (k > 0) assert.ok(w.start >= transcript.words[k - 1]!.end - 1e-6, 'words in order');
  }
  assert.deepEqual(parseTimedWords('hello 0.10 0.40 0.9\n<sil> 0.40 0.50 1\nworld(2) 0.50 0.90 0.8\n[NOISE] 1 2 1\nhello world\n'), [
    { word: 'hello', start: 0.1, end: 0.4 },
    { word: 'world', start: 0.5, end: 0.9 },
  ]);
  assert.equal(
    phrasesOf([
      { word: 'a', start: 0, end: 0.2 },
      { word: 'b', start: 0.25, end: 0.5 },
      { word: 'c', start: 1.5, end: 1.7 },
    ]).length,
    1,
    'a lone word after a pause is no phrase',
  );
});

test('Mandarin has no offline recogniser: transcription says so plainly', async () => {
  await assert.rejects(
    transcribe({ samples: new Float32Array(16_000), sampleRate: 16_000 }, { language: 'zh' }),
    (err: unknown) => err instanceof RecognizerUnavailableError && /zh/.test(err.message),
  );
});

test('real speech that is not the script (LibriSpeech 3331) trains the frame-level GMM on its transcript', async () => {
  const files = new MemoryFiles();
  const { context, progress } = fineTuneContext(new MemorySample(await speaker('3331', 25), null), files);
  const result = await backend.fineTune(context);
  const m = result.metrics;
  assert.equal(m['parallelPath'], 1, JSON.stringify(m));
  assert.ok(m['transcribedWords']! > 30 && m['transcriptPhrasesUsed']! >= 3, JSON.stringify(m));
  assert.ok(
    m['validationMcdDb']! < m['validationMcdUnconvertedDb']! - 2,
    `validation MCD ${m['validationMcdDb']} vs unconverted ${m['validationMcdUnconvertedDb']}`,
  );
  assert.ok(progress.some((p) => p.stage === 'recognising'));
  const model = JSON.parse(new TextDecoder().decode(await files.read(MODEL_FILE))) as { kind: string; parallel?: string };
  assert.deepEqual([model.kind, model.parallel], ['gmm', 'transcript']);
});

test('a Mandarin sample that does not follow its script falls back to statistics (no offline Mandarin recogniser) and says so', async () => {
  const english = await renderBase(
    baseVoiceById('flite-rms'),
    'The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. It is easy to tell the depth of a well.',
  );
  const files = new MemoryFiles();
  const script = { language: 'zh', sentences: ['今天早上天气晴朗，我们一起去公园散步。', '春天来了，河边的柳树长出了嫩绿的新芽。'] };
  const { context } = fineTuneContext(new MemorySample(concatenate([english, english]), script), files);
  const result = await backend.fineTune(context);
  assert.equal(result.metrics['scriptMatched'], 0);
  assert.equal(result.metrics['parallelPath'], 0, JSON.stringify(result.metrics));
  assert.equal(result.metrics['transcribedWords'], 0);
  const model = JSON.parse(new TextDecoder().decode(await files.read(MODEL_FILE))) as { kind: string; language: string };
  assert.deepEqual([model.kind, model.language], ['statistics', 'zh']);
});

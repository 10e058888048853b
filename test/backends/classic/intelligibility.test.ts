import { test, afterAll } from 'vitest';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createClassicBackend } from '../../../src/engine/backends/classic/index.ts';
import { baseVoiceById, renderBase } from '../../../src/engine/backends/classic/render.ts';
import { endsSentence, splitClauses } from '../../../src/engine/backends/classic/text.ts';
import { transcribe } from '../../../src/engine/recognition/transcribe.ts';
import { concatenate, dataPath, decodeAudio, fineTuneContext, MemoryFiles, MemorySample, speakAll } from './helpers.ts';
import { EVALUATION_SENTENCES, TRAINING_SENTENCES } from './sentences.ts';

/**
 * The conversion must not cost intelligibility: a voice trained on free speech
 * (LibriSpeech 1998, transcript path) says eight sentences, and the recogniser
 * (pocketsphinx, real) must understand it about as well as the unconverted
 * base voice speaking the same clauses at the same rate, with the same pauses
 * after sentences (the rate change alone
 * moves this WER by up to ±8 points either way, and rendering clause by clause
 * another ~8, so both are kept out of this comparison). The
 * frame-level GMM at full weight, or the vocoder rendering, costs 20–40 points
 * here; the bench has the 7-speaker figures against the base voice as is.
 */
const backend = createClassicBackend({ mixtures: [1, 2, 4, 8] });
afterAll(() => backend.close());
const never = new AbortController().signal;
const TEXT = [...EVALUATION_SENTENCES, ...TRAINING_SENTENCES.slice(14, 18)].join(' ');

function wordErrorRate(reference: string, heard: readonly string[]): number {
  const ref = reference
    .toLowerCase()
    .replace(/[^a-z' ]+/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
  let previous = Array.from({ length: heard.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const current = [i];
    for (let j = 1; j <= heard.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (ref[i - 1] === heard[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return (100 * previous[heard.length]!) / ref.length;
}

async function recognisedWer(samples: Float32Array): Promise<number> {
  const transcript = await transcribe({ samples, sampleRate: 16_000 }, { language: 'en' });
  return wordErrorRate(
    TEXT,
    transcript.words.map((w) => w.word),
  );
}

test('speech converted on the transcript path is recognised about as well as the base voice', async () => {
  const dir = dataPath('librispeech/test-other/1998');
  const clips: Float32Array[] = [];
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.flac'))
    .sort()
    .slice(0, 6))
    clips.push(await decodeAudio(`${dir}/${f}`));
  const files = new MemoryFiles();
  const result = await backend.fineTune(fineTuneContext(new MemorySample(concatenate(clips, 0.3), null), files).context);
  assert.equal(result.metrics['parallelPath'], 1, 'trained on the transcript path');
  const model = JSON.parse(new TextDecoder().decode(await files.read('classic-model.json'))) as { baseVoice: string; stretch: number };
  const voice = await backend.loadVoice(files, never);
  try {
    const clauses: Float32Array[] = [];
    for (const clause of splitClauses(TEXT, 'en')) {
      clauses.push(await renderBase(baseVoiceById(model.baseVoice), clause, { stretch: model.stretch }));
      if (endsSentence(clause)) clauses.push(new Float32Array(Math.round(0.25 * model.stretch * 16_000)));
    }
    const werBase = await recognisedWer(concatenate(clauses, 0));
    const werConverted = await recognisedWer(await speakAll(voice, TEXT));
    assert.ok(werConverted <= werBase + 10, `WER base voice at the user's rate ${werBase.toFixed(1)} %, converted ${werConverted.toFixed(1)} %`);
  } finally {
    voice.dispose();
  }
});

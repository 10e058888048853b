/** Chinese BERT features: per character, repeated per phone; zeros where BERT has no say. */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import ort from 'onnxruntime-node';
import { BERT_DIM, BertFeatures } from '../../../src/engine/backends/gpt-sovits/bert-features.ts';
import { createGptSovitsBackend } from '../../../src/engine/backends/gpt-sovits/index.ts';
import { textToSegments } from '../../../src/engine/backends/gpt-sovits/text/front-end.ts';
import { MemoryVoiceFiles, collect, fixtureDir, sampleSource } from './helpers.ts';

describe('BERT features', () => {
  let models: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    models = await fixtureDir({ withBert: true });
  });
  afterAll(() => models.cleanup());

  it('repeats each character vector for its phones and leaves Latin words at zero', async () => {
    const bert = await BertFeatures.load(await ort.InferenceSession.create(`${models.dir}/bert.onnx`), `${models.dir}/bert-vocab.txt`);
    const [segment] = textToSegments('你好OK', 'zh');
    assert.ok(segment?.units);
    const features = await bert.features(segment.units, segment.ids.length);
    assert.equal(features.length, segment.ids.length * BERT_DIM);
    const row = (p: number) => features.subarray(p * BERT_DIM, (p + 1) * BERT_DIM);
    assert.deepEqual(row(0), row(1)); // 你 → n, i2
    assert.notDeepEqual(row(1), row(2)); // 好 differs from 你
    assert.ok(row(0).some((v) => v !== 0));
    // Phones 4..7 are ", OW1 K EY1" (English under 4 phones gets ","); the final "." is Chinese punctuation.
    assert.equal(segment.phones.slice(4).join(' '), ', OW1 K EY1 .');
    for (let p = 4; p < 8; p++)
      assert.ok(
        row(p).every((v) => v === 0),
        `phone ${p} of "OK" should be zero`,
      );
  });

  it('runs the chain in Chinese with the BERT graph present', async () => {
    const backend = createGptSovitsBackend({ modelsDir: models.dir });
    const files = new MemoryVoiceFiles();
    await backend.prepareSample(
      sampleSource({ f0: 200, level: 0.5 }, { language: 'zh', sentences: ['我同意克隆我的声音。'] }),
      files,
      new AbortController().signal,
    );
    const voice = await backend.loadVoice(files, new AbortController().signal);
    const { samples } = await collect(
      voice.synthesize({ text: '今天天气很好，我们去公园吧。', language: 'zh', speed: 1, variability: 0.5, signal: new AbortController().signal }),
    );
    assert.ok(samples.length > 0);
  });
});

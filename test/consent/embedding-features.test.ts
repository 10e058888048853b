import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'vitest';
import { embeddingFeatures, type EmbeddingFeatureSpec } from '../../src/engine/speaker/embedding-features.ts';

/**
 * The declared front ends against the tools their models were trained with:
 * torchaudio's Kaldi fbank (WeSpeaker, ECAPA exports) and librosa's mel spectrogram
 * (Resemblyzer's GE2E). Reference frames from fixtures/embedding_features_reference.py,
 * on a synthetic signal defined identically here.
 */
const RATE = 16_000;
const reference = JSON.parse(readFileSync(new URL('./fixtures/embedding-features-reference.json', import.meta.url), 'utf8')) as Record<
  string,
  { frames: number; rows: Record<string, number[]> }
>;

function signal(): Float32Array {
  return Float32Array.from({ length: RATE }, (_, n) => {
    const t = n / RATE;
    return (
      (0.3 * Math.sin(2 * Math.PI * 180 * t) +
        0.2 * Math.sin(2 * Math.PI * (500 + 1500 * t) * t) +
        0.05 * Math.sin(2 * Math.PI * 3700 * t) +
        0.02 * Math.sin(2 * Math.PI * 5200 * t) +
        0.02 * Math.sin(2 * Math.PI * 6700 * t) +
        0.01 * Math.sin(2 * Math.PI * 7700 * t)) *
      (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t))
    );
  });
}

for (const [name, spec, tolerance] of [
  // Log values: torchaudio computes in float32, so its quietest bands round at the third decimal.
  ['fbank80', { kind: 'fbank', melBins: 80 }, () => 5e-3],
  ['mel40', { kind: 'mel', melBins: 40 }, (want: number) => 1e-3 * Math.abs(want) + 1e-7],
] as const) {
  test(`${name} matches its reference frame by frame`, () => {
    const features = embeddingFeatures({ samples: signal(), sampleRate: RATE }, spec as EmbeddingFeatureSpec);
    const want = reference[name]!;
    assert.equal(features.bins, spec.melBins);
    assert.equal(features.frames, want.frames, 'every frame of this signal is voiced, and framed as the reference frames it');
    for (const [row, values] of Object.entries(want.rows)) {
      const got = features.data.subarray(Number(row) * spec.melBins, (Number(row) + 1) * spec.melBins);
      for (const [bin, v] of values.entries()) assert.ok(Math.abs(got[bin]! - v) <= tolerance(v), `frame ${row}, bin ${bin}: ${got[bin]} vs ${v}`);
    }
  });
}

test('silence gives no frames to embed; a quiet recording is raised for the power-mel front end only', () => {
  for (const kind of ['fbank', 'mel'] as const)
    assert.equal(embeddingFeatures({ samples: new Float32Array(RATE), sampleRate: RATE }, { kind, melBins: 40 }).frames, 0);
  const loud = signal();
  const quiet = loud.map((s) => s / 100);
  const mel = (x: Float32Array) => embeddingFeatures({ samples: x, sampleRate: RATE }, { kind: 'mel', melBins: 40 });
  const fbank = (x: Float32Array) => embeddingFeatures({ samples: x, sampleRate: RATE }, { kind: 'fbank', melBins: 40 });
  // -30 dBFS for both: the loud one is above it (kept), the quiet one is raised to it.
  const ratio = mel(quiet).data[40 * 50 + 10]! / mel(loud).data[40 * 50 + 10]!;
  assert.ok(ratio > 0.001 && ratio < 1, `the quiet clip's power is raised (ratio ${ratio})`);
  // Mean normalisation removes a gain from the log fbank entirely.
  const a = fbank(loud).data;
  const b = fbank(quiet).data;
  assert.ok(a.every((v, i) => Math.abs(v - b[i]!) < 1e-3));
});

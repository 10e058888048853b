import { test } from 'vitest';
import assert from 'node:assert/strict';
import { analyse } from '../../../src/engine/features/analysis.ts';
import { estimateF0 } from '../../../src/engine/features/f0.ts';
import { compareFeatures } from '../../../src/engine/features/metrics.ts';
import { baseVoiceById, renderBase } from '../../../src/engine/backends/classic/render.ts';
import { synthesise } from '../../../src/engine/backends/classic/synthesis.ts';
import { allisonPrompts, decodeAudio } from './helpers.ts';

test('F0 of a synthetic vowel-like tone is found; silence is unvoiced', () => {
  const rate = 16_000;
  const x = new Float32Array(rate);
  for (let i = 0; i < rate / 2; i++) {
    const t = i / rate;
    x[i] = 0.3 * Math.sin(2 * Math.PI * 140 * t) + 0.2 * Math.sin(2 * Math.PI * 280 * t) + 0.1 * Math.sin(2 * Math.PI * 420 * t);
  }
  const { f0 } = estimateF0(x);
  const voiced = [...f0.slice(10, 90)];
  assert.ok(
    voiced.every((f) => Math.abs(f - 140) < 3),
    `voiced frames near 140 Hz: ${voiced.slice(0, 5).join(', ')}`,
  );
  assert.ok(
    [...f0.slice(110, 190)].every((f) => f === 0),
    'the silent half is unvoiced',
  );
});

test('analysis and resynthesis keep speech close (flite and real speech)', async () => {
  const flite = await renderBase(baseVoiceById('flite-awb'), 'The birch canoe slid on the smooth planks.');
  const prompt = allisonPrompts()[3]!;
  for (const [label, audio] of [
    ['flite awb', flite],
    ['allison', await decodeAudio(prompt.file)],
  ] as const) {
    const features = analyse(audio);
    const resynth = synthesise(features);
    assert.equal(resynth.length, features.f0.length * 80);
    const again = analyse(resynth);
    const cmp = compareFeatures(features, again);
    assert.ok(cmp.mcdDb < 6, `${label}: resynthesis MCD ${cmp.mcdDb.toFixed(2)} dB`);
    // Same timing before and after, so compare F0 frame by frame: gross errors (> 20 %) must be rare.
    let both = 0;
    let gross = 0;
    for (let i = 0; i < features.f0.length; i++) {
      const a = features.f0[i]!;
      const b = again.f0[i]!;
      if (a > 0 && b > 0) {
        both++;
        if (Math.abs(b / a - 1) > 0.2) gross++;
      }
    }
    assert.ok(both > 50 && gross / both < 0.05, `${label}: ${gross} of ${both} voiced frames with gross F0 errors`);
    let e1 = 0;
    let e2 = 0;
    for (const v of audio) e1 += v * v;
    for (const v of resynth) e2 += v * v;
    const db = 10 * Math.log10(e2 / e1);
    assert.ok(Math.abs(db) < 4, `${label}: level change ${db.toFixed(1)} dB`);
  }
});

import { test } from 'vitest';
import assert from 'node:assert/strict';
import { analyse, type Features } from '../../../src/engine/features/analysis.ts';
import { createClassicBackend } from '../../../src/engine/backends/classic/index.ts';
import { convertPitch, pitchGmm, pitchMapping, varyPitch } from '../../../src/engine/backends/classic/pitch.ts';
import { baseVoiceById, renderBase } from '../../../src/engine/backends/classic/render.ts';
import { computeStats, convertF0 } from '../../../src/engine/backends/classic/stats.ts';
import type { LoadedVoice } from '../../../src/engine/backend.ts';
import { concatenate, MemoryFiles, MemorySample } from './helpers.ts';

/** `variability` and the frame-level pitch mapping. */
const never = new AbortController().signal;

/** Interquartile range of log F0 over voiced frames: the pitch range, robust to the odd octave error of re-analysis. */
function logF0Spread(f0: Float64Array): number {
  const l = [...f0]
    .filter((f) => f > 0)
    .map(Math.log)
    .sort((a, b) => a - b);
  return l[Math.floor(0.75 * (l.length - 1))]! - l[Math.floor(0.25 * (l.length - 1))]!;
}

async function speak(voice: LoadedVoice, text: string, variability: number): Promise<Float32Array> {
  const chunks: Float32Array[] = [];
  for await (const c of voice.synthesize({ text, language: 'en', speed: 1, variability, signal: never })) chunks.push(c.samples);
  return concatenate(chunks, 0);
}

test('variability widens and varies the intonation, repeatably; 0 leaves the trained mapping', async () => {
  const backend = createClassicBackend({ baseVoices: ['flite-slt', 'flite-rms'] });
  try {
    const parts = [];
    for (const s of ['The birch canoe slid on the smooth planks.', 'Glue the sheet to the dark blue background.', 'It is easy to tell the depth of a well.']) {
      parts.push(await renderBase(baseVoiceById('flite-awb'), s));
    }
    const files = new MemoryFiles();
    await backend.prepareSample(new MemorySample(concatenate(parts, 0.4), null), files, never);
    const voice = await backend.loadVoice(files, never);
    const text = 'Four hours of steady work faced us, and the boy was there when the sun rose.';
    const plain = await speak(voice, text, 0);
    const lively = await speak(voice, text, 1);
    const again = await speak(voice, text, 1);
    assert.deepEqual(lively, again, 'the same request sounds the same');
    assert.notDeepEqual(plain, lively, 'variability changes the audio');
    const spreadPlain = logF0Spread(analyse(plain).f0);
    const spreadLively = logF0Spread(analyse(lively).f0);
    assert.ok(spreadLively > spreadPlain * 1.15, `log-F0 interquartile range ${spreadPlain.toFixed(3)} -> ${spreadLively.toFixed(3)}`);
    voice.dispose();
  } finally {
    await backend.close();
  }
});

test('varyPitch keeps voicing, is the identity at 0 and seeded otherwise', () => {
  const f0 = Float64Array.from({ length: 600 }, (_, t) => (t % 150 < 30 ? 0 : 120 * Math.exp(0.1 * Math.sin(t / 40))));
  assert.equal(varyPitch(f0, 0, 1), f0);
  const a = varyPitch(f0, 1, 3);
  assert.deepEqual(a, varyPitch(f0, 1, 3));
  assert.notDeepEqual(a, varyPitch(f0, 1, 4));
  for (let t = 0; t < f0.length; t++) assert.equal(a[t]! > 0, f0[t]! > 0);
  assert.ok(logF0Spread(a) > logF0Spread(f0));
});

test('the pitch GMM learns an intonation that mean and variance cannot (rises stronger than falls), and beats them on new contours', () => {
  const contour = (n: number, phase: number): Float64Array =>
    Float64Array.from({ length: n }, (_, t) => (t % 97 < 12 ? 0 : 110 * Math.exp(0.18 * Math.sin(t / 35 + phase) + 0.07 * Math.sin(t / 11 + 2 * phase))));
  // The "user" rises three times as far above their mean as the base voice, but falls only as far.
  const user = (f0: Float64Array): Float64Array => f0.map((f) => (f > 0 ? 180 * Math.exp(Math.log(f / 110) * (Math.log(f / 110) > 0 ? 3 : 1)) : 0));
  const features = (f0: Float64Array): Features => ({
    f0,
    aperiodicity: new Float64Array(f0.length),
    mcep: Array.from({ length: f0.length }, () => new Float64Array(25).fill(1)),
  });
  const baseF0 = contour(6000, 0);
  const userF0 = user(baseF0);
  const pairs = Array.from({ length: baseF0.length }, (_, t) => [t, t] as const);
  const from = computeStats(features(baseF0));
  const to = computeStats(features(userF0));
  const mapping = pitchMapping(features(baseF0), features(userF0), pairs, from, to);
  assert.ok(mapping, 'kept: it beats mean/variance on held-out frames');
  const test = contour(2000, 1.3);
  const truth = user(test);
  const error = (f0: Float64Array): number => {
    let s = 0;
    let n = 0;
    for (let t = 0; t < f0.length; t++) {
      if (truth[t]! <= 0) continue;
      s += (Math.log(f0[t]!) - Math.log(truth[t]!)) ** 2;
      n++;
    }
    return Math.sqrt(s / n);
  };
  const gmm = error(convertPitch(test, pitchGmm(mapping)));
  const meanVariance = error(convertF0(test, from, to));
  assert.ok(gmm < meanVariance * 0.8, `pitch GMM ${gmm.toFixed(4)} vs mean/variance ${meanVariance.toFixed(4)} (log F0 RMSE)`);
});

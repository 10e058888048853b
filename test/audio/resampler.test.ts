import assert from 'node:assert/strict';
import { test } from 'vitest';
import { resample, Resampler } from '../../src/engine/audio/resampler.ts';
import { rms, tone } from './fixtures.ts';

const db = (x: number): number => 20 * Math.log10(x);

test('downsampling 48 kHz → 16 kHz rejects a tone above the new Nyquist by ≥ 60 dB', () => {
  const out = resample(tone(9000, 48000, 1), 48000, 16000);
  assert.equal(out.length, 16000);
  const level = db(rms(out, 1000, 15000) / (0.5 / Math.SQRT2));
  assert.ok(level <= -60, `9 kHz leaked at ${level.toFixed(1)} dB`);
});

test('44.1 kHz → 16 kHz preserves a passband tone within 0.1 dB', () => {
  const out = resample(tone(1000, 44100, 1), 44100, 16000);
  const level = db(rms(out, 1000, 15000) / (0.5 / Math.SQRT2));
  assert.ok(Math.abs(level) < 0.1, `1 kHz came out at ${level.toFixed(3)} dB`);
  // And it is still a 1 kHz sine: compare with the ideal one.
  const ideal = tone(1000, 16000, 1);
  let err = 0;
  for (let i = 1000; i < 15000; i++) err += ((out[i] ?? 0) - (ideal[i] ?? 0)) ** 2;
  assert.ok(db(Math.sqrt(err / 14000) / (0.5 / Math.SQRT2)) < -50, 'waveform or phase differs from the ideal tone');
});

test('upsampling 24 kHz → 48 kHz keeps images of a 10 kHz tone ≥ 60 dB down', () => {
  const out = resample(tone(10000, 24000, 1), 24000, 48000);
  // Remove the wanted 10 kHz component by projection; what is left is imaging/distortion.
  let c = 0;
  let s = 0;
  for (let i = 2000; i < 46000; i++) {
    c += (out[i] ?? 0) * Math.cos((2 * Math.PI * 10000 * i) / 48000);
    s += (out[i] ?? 0) * Math.sin((2 * Math.PI * 10000 * i) / 48000);
  }
  const n = 44000;
  let residual = 0;
  for (let i = 2000; i < 46000; i++) {
    const fit = (2 / n) * (c * Math.cos((2 * Math.PI * 10000 * i) / 48000) + s * Math.sin((2 * Math.PI * 10000 * i) / 48000));
    residual += ((out[i] ?? 0) - fit) ** 2;
  }
  assert.ok(db(Math.sqrt(residual / n) / (0.5 / Math.SQRT2)) < -60);
});

test('streaming in odd chunk sizes gives exactly the one-shot result', () => {
  const input = tone(440, 22050, 0.7);
  const expected = resample(input, 22050, 16000);
  const r = new Resampler(22050, 16000);
  const parts: Float32Array[] = [];
  for (let i = 0; i < input.length; i += 333) parts.push(r.process(input.subarray(i, i + 333)));
  parts.push(r.flush());
  const got = Float32Array.from(parts.flatMap((p) => [...p]));
  assert.equal(got.length, expected.length);
  assert.deepEqual(got, expected);
});

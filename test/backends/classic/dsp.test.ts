import { test } from 'vitest';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Fft } from '../../../src/engine/dsp/fft.ts';
import { RealFft } from '../../../src/engine/dsp/real-fft.ts';
import { cepstrumToMelCepstrum, melCepstrumToCepstrum, melCepstrumToLogAmplitude } from '../../../src/engine/features/melcep.ts';
import { generateTrajectory } from '../../../src/engine/backends/classic/mlpg.ts';
import { alignOpenEnd, alignSequences } from '../../../src/engine/features/dtw.ts';
import { dropStalls } from '../../../src/engine/backends/classic/frame-alignment.ts';

function naiveDft(x: number[]): { re: number[]; im: number[] } {
  const n = x.length;
  const re: number[] = [];
  const im: number[] = [];
  for (let k = 0; k < n; k++) {
    let r = 0;
    let i = 0;
    for (let t = 0; t < n; t++) {
      r += x[t]! * Math.cos((2 * Math.PI * k * t) / n);
      i -= x[t]! * Math.sin((2 * Math.PI * k * t) / n);
    }
    re.push(r);
    im.push(i);
  }
  return { re, im };
}

test('complex and real FFTs agree with a direct DFT, and invert exactly', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 64, maxLength: 64 }), (values) => {
      const expected = naiveDft(values);
      const re = Float64Array.from(values);
      const im = new Float64Array(64);
      new Fft(64).transform(re, im);
      const rre = new Float64Array(33);
      const rim = new Float64Array(33);
      const real = new RealFft(64);
      real.forward(Float64Array.from(values), rre, rim);
      for (let k = 0; k <= 32; k++) {
        assert.ok(Math.abs(re[k]! - expected.re[k]!) < 1e-9);
        assert.ok(Math.abs(im[k]! - expected.im[k]!) < 1e-9);
        assert.ok(Math.abs(rre[k]! - expected.re[k]!) < 1e-9, `real FFT bin ${k}`);
        assert.ok(Math.abs(rim[k]! - expected.im[k]!) < 1e-9, `real FFT bin ${k}`);
      }
      const back = new Float64Array(64);
      real.inverse(rre, rim, back);
      for (let t = 0; t < 64; t++) assert.ok(Math.abs(back[t]! - values[t]!) < 1e-9);
    }),
    { numRuns: 30 },
  );
});

test('mel-cepstrum round trip: warping and unwarping keep the log spectrum', () => {
  // A smooth log spectrum: a short linear cepstrum.
  const cep = new Float64Array(40);
  cep[0] = -2;
  cep[1] = 0.8;
  cep[2] = -0.3;
  cep[5] = 0.2;
  const mc = cepstrumToMelCepstrum(cep);
  const logAmp = melCepstrumToLogAmplitude(mc, 512);
  for (let k = 0; k <= 256; k += 8) {
    const w = (Math.PI * k) / 256;
    let direct = cep[0]!;
    for (let q = 1; q < cep.length; q++) direct += cep[q]! * Math.cos(q * w);
    assert.ok(Math.abs(logAmp[k]! - direct) < 0.05, `bin ${k}: ${logAmp[k]} vs ${direct}`);
  }
  const back = melCepstrumToCepstrum(mc, 39);
  for (let q = 0; q < 6; q++) assert.ok(Math.abs(back[q]! - cep[q]!) < 0.02, `quefrency ${q}`);
});

test('MLPG returns the static means when deltas carry no weight, and smooths when they do', () => {
  const mean = Float64Array.from([0, 0, 1, 0, 0, 1, 0, 0]);
  const one = new Float64Array(8).fill(1);
  const zero = new Float64Array(8);
  assert.deepEqual(
    [...generateTrajectory(mean, one, zero, zero)].map((v) => Math.round(v * 1e9) / 1e9),
    [...mean],
  );
  const smooth = generateTrajectory(mean, one, zero, new Float64Array(8).fill(50));
  const jump = (y: Float64Array): number => Math.max(...y.slice(1).map((v, i) => Math.abs(v - y[i]!)));
  assert.ok(jump(smooth) < jump(mean) / 2);
});

test('DTW recovers a known time warp', () => {
  const a = Array.from({ length: 50 }, (_, i) => Float64Array.from([0, Math.sin(i / 5), Math.cos(i / 7)]));
  const b = a.flatMap((f, i) => (i % 3 === 0 ? [f, f] : [f])); // stretched copy
  const alignment = alignSequences(a, b, { firstDim: 1, endDim: 3 });
  assert.ok(alignment.meanDistance < 1e-9);
  assert.deepEqual(alignment.pairs[0], [0, 0]);
  assert.deepEqual(alignment.pairs[alignment.pairs.length - 1], [49, b.length - 1]);
});

test('open-end DTW covers the first sequence and stops where its match ends in the second', () => {
  const a = Array.from({ length: 60 }, (_, i) => Float64Array.from([0, Math.sin(i / 5), Math.cos(i / 7)]));
  const stretched = a.flatMap((f, i) => (i % 4 === 0 ? [f, f] : [f]));
  const tail = Array.from({ length: 40 }, (_, i) => Float64Array.from([0, 3 + Math.sin(i), -3]));
  const alignment = alignOpenEnd(a, [...stretched, ...tail], { firstDim: 1, endDim: 3 });
  assert.ok(alignment.meanDistance < 1e-9);
  assert.deepEqual(alignment.pairs[alignment.pairs.length - 1], [59, stretched.length - 1]);
});

test('dropStalls removes long holds of one frame and keeps the rest', () => {
  const path: Array<readonly [number, number]> = [
    [0, 0],
    [1, 1],
    [2, 2],
    [2, 3],
    [2, 4],
    [2, 5],
    [2, 6],
    [2, 7],
    [3, 8],
    [4, 9],
  ];
  assert.deepEqual(dropStalls(path), [
    [0, 0],
    [1, 1],
    [3, 8],
    [4, 9],
  ]);
});

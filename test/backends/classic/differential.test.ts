import { test } from 'vitest';
import assert from 'node:assert/strict';
import { analyse } from '../../../src/engine/features/analysis.ts';
import { MCEP_ORDER } from '../../../src/engine/features/constants.ts';
import { filterBySpectralDifference } from '../../../src/engine/backends/classic/differential-filter.ts';
import { shiftPitch } from '../../../src/engine/backends/classic/pitch-shift.ts';
import { baseVoiceById, renderBase } from '../../../src/engine/backends/classic/render.ts';

/**
 * The differential rendering changes the base voice's own waveform: TD-PSOLA
 * for pitch, a minimum-phase filter by the mel-cepstral difference for the
 * spectrum. Both must do what they are told and nothing else.
 */
const sentence = 'The birch canoe slid on the smooth planks.';

function constantDifference(frames: number, coefficients: Record<number, number>): Float64Array[] {
  return Array.from({ length: frames }, () => {
    const d = new Float64Array(MCEP_ORDER + 1);
    for (const [m, v] of Object.entries(coefficients)) d[Number(m)] = v;
    return d;
  });
}

function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / x.length);
}

/** Mean of c_m over the frames voiced in the analysis (where the envelope is well defined). */
function meanVoicedCoefficient(pcm: Float32Array, m: number): number {
  const features = analyse(pcm);
  let sum = 0;
  let n = 0;
  for (let t = 0; t < features.f0.length; t++) {
    if (features.f0[t]! > 0) {
      sum += features.mcep[t]![m]!;
      n++;
    }
  }
  return sum / n;
}

test('the differential filter: no difference leaves the waveform; a level and a tilt difference are applied as given', async () => {
  const pcm = await renderBase(baseVoiceById('flite-rms'), sentence);
  const frames = Math.ceil(pcm.length / 80) + 1;
  const same = filterBySpectralDifference(pcm, constantDifference(frames, {}));
  assert.equal(same.length, pcm.length);
  let worst = 0;
  for (let i = 0; i < pcm.length; i++) worst = Math.max(worst, Math.abs(same[i]! - pcm[i]!));
  assert.ok(worst < 1e-4, `identity filter changed a sample by ${worst}`);

  // c0 = ln 0.5: half the amplitude, everywhere.
  const quieter = filterBySpectralDifference(pcm, constantDifference(frames, { 0: Math.log(0.5) }));
  const ratio = rms(quieter) / rms(pcm);
  assert.ok(Math.abs(ratio - 0.5) < 0.01, `level ratio ${ratio.toFixed(3)}`);

  // c1 raised by 0.4 (a darker spectrum): re-analysis finds c1 about 0.4 higher, c2 about unchanged.
  const darker = filterBySpectralDifference(pcm, constantDifference(frames, { 1: 0.4 }));
  const c1Shift = meanVoicedCoefficient(darker, 1) - meanVoicedCoefficient(pcm, 1);
  const c2Shift = meanVoicedCoefficient(darker, 2) - meanVoicedCoefficient(pcm, 2);
  assert.ok(Math.abs(c1Shift - 0.4) < 0.08, `c1 moved by ${c1Shift.toFixed(3)}`);
  assert.ok(Math.abs(c2Shift) < 0.08, `c2 moved by ${c2Shift.toFixed(3)}`);
});

test('TD-PSOLA moves the pitch to the target contour, keeps the length, voicing and the spectral envelope', async () => {
  const pcm = await renderBase(baseVoiceById('flite-rms'), sentence);
  const original = analyse(pcm);
  for (const factor of [0.8, 1.3]) {
    const target = original.f0.map((f) => f * factor);
    const shifted = shiftPitch(pcm, original.f0, target);
    assert.equal(shifted.length, pcm.length);
    const again = analyse(shifted);
    const ratios: number[] = [];
    for (let t = 0; t < original.f0.length; t++) {
      if (original.f0[t]! > 0 && again.f0[t]! > 0) ratios.push(again.f0[t]! / original.f0[t]!);
    }
    ratios.sort((a, b) => a - b);
    const median = ratios[Math.floor(ratios.length / 2)]!;
    assert.ok(Math.abs(median / factor - 1) < 0.03, `×${factor}: median F0 ratio ${median.toFixed(3)}`);
    const voicedBefore = original.f0.filter((f) => f > 0).length;
    assert.ok(ratios.length > 0.8 * voicedBefore, `×${factor}: ${ratios.length} of ${voicedBefore} voiced frames stay voiced`);
    // The envelope (what is said) stays: c1..c4 of voiced frames move little.
    for (const m of [1, 2, 3, 4]) {
      const moved = meanVoicedCoefficient(shifted, m) - meanVoicedCoefficient(pcm, m);
      assert.ok(Math.abs(moved) < 0.15, `×${factor}: c${m} moved by ${moved.toFixed(3)}`);
    }
    const level = rms(shifted) / rms(pcm);
    assert.ok(level > 0.7 && level < 1.4, `×${factor}: level ratio ${level.toFixed(2)}`);
  }
});

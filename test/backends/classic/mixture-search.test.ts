import { test } from 'vitest';
import assert from 'node:assert/strict';
import type { Features } from '../../../src/engine/features/analysis.ts';
import { MCEP_ORDER } from '../../../src/engine/features/constants.ts';
import { withDeltas } from '../../../src/engine/backends/classic/deltas.ts';
import { ParallelData, searchMixtures } from '../../../src/engine/backends/classic/gmm-training.ts';
import { emStep, singleComponent, splitComponents, varianceFloor } from '../../../src/engine/backends/classic/gmm.ts';

/**
 * The GMM size is chosen by the held-out validation MCD, not by the training fit.
 * The frames here are built so that more components fit the training part better
 * but generalise worse: in training, each of two clusters maps its own offset away
 * (a pattern two or more components learn), while the held-out tail does not follow
 * that pattern. The search must therefore keep exactly one component.
 */

const FRAMES = 1100;
const DIMS = MCEP_ORDER + 1;

function features(mcep: Float64Array[]): Features {
  return { f0: new Float64Array(mcep.length), aperiodicity: new Float64Array(mcep.length), mcep };
}

function parallelFrames(): { base: Features; user: Features } {
  const cut = Math.round(0.9 * (FRAMES - 1));
  const base: Float64Array[] = [];
  const user: Float64Array[] = [];
  for (let t = 0; t < FRAMES; t++) {
    // Alternating 50-frame runs near +1 and -1, varying slowly within a run.
    const centre = Math.floor(t / 50) % 2 === 0 ? 1 : -1;
    const x = new Float64Array(DIMS);
    const y = new Float64Array(DIMS);
    for (let d = 1; d < DIMS; d++) {
      const wiggle = 0.3 * Math.sin(t / 7 + d);
      x[d] = centre + wiggle;
      // Training: the user's frame is the base frame minus its cluster's centre.
      // Held out: the user's frame is flat, which the one-component mapping predicts.
      y[d] = t < cut ? wiggle : 0;
    }
    base.push(x);
    user.push(y);
  }
  return { base: features(base), user: features(user) };
}

function parallelData(): ParallelData {
  const { base, user } = parallelFrames();
  const pairs = Array.from({ length: FRAMES }, (_, t) => [t, t] as const);
  return new ParallelData(base, user, withDeltas(base.mcep, 1, DIMS), withDeltas(user.mcep, 1, DIMS), pairs);
}

test('the validation MCD, not the training fit, picks the mixture size: exactly the best size is kept', async () => {
  const data = parallelData();
  const reports: Array<Readonly<Record<string, number>>> = [];
  const result = await searchMixtures(data, [1, 2, 4], new AbortController().signal, (_f, detail) => reports.push(detail));
  const tried = JSON.stringify(Object.fromEntries(Object.entries(result.tried).map(([k, v]) => [k, Number(v.toFixed(3))])));
  assert.deepEqual(
    reports.map((r) => r['mixtures']),
    [1, 2, 4],
    'every candidate size was trained',
  );
  assert.ok(result.tried['validationMcdDb_m1']! < result.tried['validationMcdDb_m4']!, `the largest size validates worse here: ${tried}`);
  assert.equal(result.size, 1, `the size with the lowest validation MCD is kept: ${tried}`);
  assert.equal(result.gmm.components.length, 1);
  assert.equal(result.mcd, Math.min(...Object.values(result.tried)));
  assert.equal(data.validation.mcd(result.gmm), result.mcd, 'the kept model is the one that was measured');
});

test('EM stops when the validation MCD stops improving: the kept iteration beats training to convergence', async () => {
  const data = parallelData();
  const result = await searchMixtures(data, [1, 2], new AbortController().signal, () => {});
  // Reference: two components trained for as many EM iterations as the search allows at most.
  const floor = varianceFloor(data.xs, data.ys);
  let converged = splitComponents(singleComponent(data.xs, data.ys, floor));
  let firstFit = Number.NaN;
  let lastFit = Number.NaN;
  for (let i = 0; i < 14; i++) {
    const step = emStep(converged, data.xs, data.ys, floor);
    converged = step.gmm;
    if (i === 0) firstFit = step.logLikelihood;
    lastFit = step.logLikelihood;
  }
  const convergedMcd = data.validation.mcd(converged);
  assert.ok(lastFit > firstFit, 'training goes on fitting the training frames better');
  const kept = result.tried['validationMcdDb_m2']!;
  assert.ok(
    kept < convergedMcd - 1,
    `early stopping keeps the better iteration (${kept.toFixed(3)} dB) over the over-fitted end (${convergedMcd.toFixed(3)} dB)`,
  );
});

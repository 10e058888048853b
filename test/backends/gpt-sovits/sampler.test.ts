/** Upstream's sampler (AR/models/utils.py logits_to_probs + exponential draw), as sampler.ts runs it. */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { drawToken, seededRandom, tokenProbabilities, UPSTREAM_SAMPLING } from '../../../src/engine/backends/gpt-sovits/sampler.ts';

const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;

describe('token sampler (upstream logits_to_probs)', () => {
  it('penalises every earlier token once: positive logits divided, negative multiplied', () => {
    const logits = Float32Array.from([2, -1, 1, 0.5]);
    const probs = tokenProbabilities(logits, 4, [0, 1, 0, 1], { topK: 0, topP: 1, temperature: 1, repetitionPenalty: 2 });
    // After the penalty: [1, -2, 1, 0.5] → softmax.
    const e = [Math.exp(1), Math.exp(-2), Math.exp(1), Math.exp(0.5)];
    const sum = e.reduce((a, b) => a + b, 0);
    for (const [i, v] of e.entries()) assert.ok(close(probs[i] ?? -1, v / sum), `token ${i}`);
  });

  it('keeps the top k (ties at the pivot stay) and scales by temperature before it', () => {
    const logits = Float32Array.from([4, 3, 3, 1, 0]);
    const probs = tokenProbabilities(logits, 5, [], { topK: 2, topP: 1, temperature: 2, repetitionPenalty: 1 });
    assert.equal(probs[3], 0);
    assert.equal(probs[4], 0);
    const e = [Math.exp(2), Math.exp(1.5), Math.exp(1.5)];
    const sum = e.reduce((a, b) => a + b, 0);
    for (const [i, v] of e.entries()) assert.ok(close(probs[i] ?? -1, v / sum));
  });

  it('drops what top-p removes but always keeps the best token', () => {
    const probs = tokenProbabilities(Float32Array.from([10, 0, 0]), 3, [], { topK: 0, topP: 0.5, temperature: 1, repetitionPenalty: 1 });
    assert.deepEqual(Array.from(probs), [1, 0, 0]);
  });

  it('leaves trailing entries out when asked (EOS before 11 tokens)', () => {
    const probs = tokenProbabilities(Float32Array.from([0, 0, 50]), 2, [], UPSTREAM_SAMPLING);
    assert.equal(probs.length, 2);
    assert.ok(close(probs[0] ?? 0, 0.5));
  });

  it('draws in proportion to the probabilities, reproducibly for a seed', () => {
    const probs = Float64Array.from([0.7, 0.2, 0.1]);
    const counts = [0, 0, 0];
    const random = seededRandom(42);
    for (let i = 0; i < 20_000; i++) counts[drawToken(probs, random)]! += 1;
    assert.ok(Math.abs(counts[0]! / 20_000 - 0.7) < 0.02 && Math.abs(counts[2]! / 20_000 - 0.1) < 0.02, counts.join(','));
    const a = seededRandom(7);
    const b = seededRandom(7);
    assert.deepEqual(
      Array.from({ length: 20 }, () => drawToken(probs, a)),
      Array.from({ length: 20 }, () => drawToken(probs, b)),
    );
  });
});

/** The t2s loop's stopping rules and per-request state, on fixture graphs with known lengths. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { ChunkStitcher } from '../../../src/engine/backends/gpt-sovits/chunk-stream.ts';
import { MAX_TOKENS, MIN_TOKENS_BEFORE_EOS, SemanticDecoder } from '../../../src/engine/backends/gpt-sovits/t2s-decoder.ts';
import { encodeModel } from './fixtures/onnx-writer.ts';
import { encoder, fsdec, sdec } from './fixtures/fixture-graphs.ts';
import type { FixtureOptions } from './fixtures/fixture-graphs.ts';

async function graphs(o: FixtureOptions) {
  const [e, f, s] = await Promise.all([encoder(o), fsdec(o), sdec(o)].map((g) => ort.InferenceSession.create(encodeModel(g))));
  return { encoder: e!, fsdec: f!, sdec: s! };
}

function inputs(refPhones: number, textPhones: number) {
  return {
    refIds: Array.from({ length: refPhones }, (_, i) => 100 + i),
    textIds: Array.from({ length: textPhones }, (_, i) => 200 + i),
    refBert: new Float32Array(refPhones * 1024),
    textBert: new Float32Array(textPhones * 1024),
    ssl: Float32Array.from({ length: 768 * 40 }, (_, i) => Math.sin(i)),
    sslFrames: 40,
  };
}

async function drain(decoder: SemanticDecoder): Promise<number[]> {
  const tokens: number[] = [];
  for (let t = await decoder.next(); t !== null; t = await decoder.next()) tokens.push(t);
  return tokens;
}

describe('semantic token loop', () => {
  it('stops at EOS, drops it, and generates floor(N·rate)+extra tokens', async () => {
    const g = await graphs({ tokensPerPhone: [1, 1], extraTokens: 12 });
    const tokens = await drain(await SemanticDecoder.start(g, inputs(5, 20)));
    assert.equal(tokens.length, 25 + 12);
    assert.ok(tokens.every((t) => t >= 512 && t < 1024));
  });

  it(`does not accept EOS before ${MIN_TOKENS_BEFORE_EOS} tokens (upstream masks it)`, async () => {
    const g = await graphs({ tokensPerPhone: [0, 1], extraTokens: 3 });
    const tokens = await drain(await SemanticDecoder.start(g, inputs(2, 3)));
    assert.equal(tokens.length, MIN_TOKENS_BEFORE_EOS);
    assert.ok(tokens.every((t) => t !== 1024));
  });

  it(`caps a segment at ${MAX_TOKENS} tokens when EOS never comes`, async () => {
    const g = await graphs({ tokensPerPhone: [0, 1], extraTokens: 5000, layers: 1, dim: 4 });
    const decoder = await SemanticDecoder.start(g, inputs(2, 3));
    const tokens = await drain(decoder);
    assert.equal(tokens.length, MAX_TOKENS);
    assert.equal(decoder.done, true);
  });

  it('keeps every request state separate: interleaved decoders equal solo runs', async () => {
    const g = await graphs({});
    const solo = [await drain(await SemanticDecoder.start(g, inputs(4, 10))), await drain(await SemanticDecoder.start(g, inputs(7, 12)))];
    const a = await SemanticDecoder.start(g, inputs(4, 10));
    const b = await SemanticDecoder.start(g, inputs(7, 12));
    const ta: number[] = [];
    const tb: number[] = [];
    while (!a.done || !b.done) {
      const [x, y] = await Promise.all([a.next(), b.next()]);
      if (x !== null) ta.push(x);
      if (y !== null) tb.push(y);
    }
    assert.deepEqual([ta, tb], solo);
  });
});

describe('chunk stitching', () => {
  it('reassembles a signal decoded in overlapping windows', () => {
    const signal = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 7));
    const stitcher = new ChunkStitcher(20);
    const out: number[] = [];
    // Windows [0,300), [250,600), [550,1000): 50 samples of context each time.
    out.push(...stitcher.push(signal.slice(0, 300), 0, false));
    out.push(...stitcher.push(signal.slice(250, 600), 50, false));
    out.push(...stitcher.push(signal.slice(550, 1000), 50, true));
    assert.equal(out.length, 1000);
    for (let i = 0; i < 1000; i++) assert.ok(Math.abs((out[i] ?? 0) - (signal[i] ?? 0)) < 1e-6, `sample ${i}`);
  });

  it('crossfades where the windows disagree instead of jumping', () => {
    const stitcher = new ChunkStitcher(10);
    const first = stitcher.push(new Float32Array(100).fill(1), 0, false);
    const second = stitcher.push(new Float32Array(60).fill(-1), 20, true);
    const joined = [...first, ...second];
    assert.equal(joined.length, 140);
    for (let i = 1; i < joined.length; i++) assert.ok(Math.abs((joined[i] ?? 0) - (joined[i - 1] ?? 0)) <= 0.21, `jump at ${i}`);
  });
});

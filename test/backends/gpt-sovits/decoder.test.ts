/** The t2s loops' stopping rules and per-request state, on fixture graphs with known lengths. */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import ort from 'onnxruntime-node';
import { ChunkStitcher } from '../../../src/engine/backends/gpt-sovits/chunk-stream.ts';
import { KvCache } from '../../../src/engine/backends/gpt-sovits/kv-cache.ts';
import { MAX_TOKENS, MIN_TOKENS_BEFORE_EOS, startDecoder } from '../../../src/engine/backends/gpt-sovits/t2s-decoder.ts';
import type { SemanticDecoder, T2sGraphs } from '../../../src/engine/backends/gpt-sovits/t2s-decoder.ts';
import { encodeModel } from './fixtures/onnx-writer.ts';
import { encoder, fsdec, kvDecoder, sdec } from './fixtures/fixture-graphs.ts';
import type { FixtureLayout, FixtureOptions } from './fixtures/fixture-graphs.ts';

const session = (g: Parameters<typeof encodeModel>[0]): Promise<ort.InferenceSession> => ort.InferenceSession.create(encodeModel(g));

async function graphs(layout: FixtureLayout, o: FixtureOptions): Promise<T2sGraphs> {
  if (layout === 'kv') return { kind: 'kv', encoder: await session(encoder(o)), decoder: await session(kvDecoder(o)) };
  return { kind: 'legacy', encoder: await session(encoder(o)), fsdec: await session(fsdec(o)), sdec: await session(sdec(o)) };
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

for (const layout of ['kv', 'legacy'] as const) {
  describe(`semantic token loop (${layout} graphs)`, () => {
    it('stops at EOS, drops it, and generates floor(N·rate)+extra tokens', async () => {
      const g = await graphs(layout, { tokensPerPhone: [1, 1], extraTokens: 12 });
      const tokens = await drain(await startDecoder(g, inputs(5, 20), { seed: 1 }));
      assert.equal(tokens.length, 25 + 12);
      assert.ok(tokens.every((t) => t >= 512 && t < 1024));
    });

    it(`does not accept EOS before ${MIN_TOKENS_BEFORE_EOS} tokens (upstream masks it)`, async () => {
      const g = await graphs(layout, { tokensPerPhone: [0, 1], extraTokens: 3 });
      const tokens = await drain(await startDecoder(g, inputs(2, 3), { seed: 2 }));
      assert.equal(tokens.length, MIN_TOKENS_BEFORE_EOS);
      assert.ok(tokens.every((t) => t !== 1024));
    });

    it(`caps a segment at ${MAX_TOKENS} tokens when EOS never comes`, async () => {
      const g = await graphs(layout, { tokensPerPhone: [0, 1], extraTokens: 5000, layers: 1, dim: 4 });
      const decoder = await startDecoder(g, inputs(2, 3), { seed: 3 });
      const tokens = await drain(decoder);
      assert.equal(tokens.length, MAX_TOKENS);
      assert.equal(decoder.done, true);
    });

    it('keeps every request state separate: interleaved decoders equal solo runs', async () => {
      const g = await graphs(layout, {});
      const solo = [await drain(await startDecoder(g, inputs(4, 10), { seed: 4 })), await drain(await startDecoder(g, inputs(7, 12), { seed: 5 }))];
      const a = await startDecoder(g, inputs(4, 10), { seed: 4 });
      const b = await startDecoder(g, inputs(7, 12), { seed: 5 });
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
}

describe('KV-cache decoder specifics', () => {
  it('gives the same tokens as the upstream-style graphs on the same inputs', async () => {
    const o = { tokensPerPhone: [3, 2] as const, extraTokens: 20 };
    const kv = await drain(await startDecoder(await graphs('kv', o), inputs(6, 14), { seed: 9 }));
    const legacy = await drain(await startDecoder(await graphs('legacy', o), inputs(6, 14)));
    assert.deepEqual(kv, legacy);
  });

  it('runs without a prompt at all (no prompt text, as upstream TTS.py)', async () => {
    const g = await graphs('kv', { tokensPerPhone: [1, 1], extraTokens: 12 });
    const promptless = { ...inputs(0, 20), refIds: [], refBert: new Float32Array(0) };
    const tokens = await drain(await startDecoder(g, promptless, { seed: 6, promptless: true }));
    // Only the 20 text phones count; the fixture's first token hashes an empty prompt.
    assert.equal(tokens.length, 20 + 12);
    assert.equal(tokens[0], 512 + 3);
  });

  it('grows the cache by doubling and keeps every row in place', () => {
    const cache = new KvCache(2, 4, 3);
    const rows = (n: number, base: number): Float32Array => Float32Array.from({ length: 2 * n * 4 }, (_, i) => base + i);
    cache.append(rows(2, 0), rows(2, 100), 2);
    const before = cache.bytes;
    cache.append(rows(3, 1000), rows(3, 2000), 3);
    assert.equal(cache.length, 5);
    assert.ok(cache.bytes === before * 2, `${cache.bytes} vs ${before}`);
    const feeds: Record<string, ort.Tensor> = {};
    cache.feeds(feeds);
    // Layer 1 keys: rows 2..3 of the first append (values 8..15), then rows 3..5 of the second (1012..1023).
    assert.deepEqual(Array.from(feeds['k_cache_1']!.data as Float32Array), [
      ...Array.from({ length: 8 }, (_, i) => 8 + i),
      ...Array.from({ length: 12 }, (_, i) => 1012 + i),
    ]);
    assert.deepEqual(feeds['v_cache_0']!.dims, [5, 4]);
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

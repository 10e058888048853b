/**
 * GPT-SoVITS backend benchmarks. Without arguments they run on fixture graphs written to a temp
 * folder (24 layers, width 64 by default: the real cache has width 512, so KV bytes here are 1/8
 * of a real model's); `--models DIR` measures a real models directory with the same code
 * (`--provider cuda` for the GPU). Other flags: `--layers N`, `--dim N` for the fixtures.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import ort from 'onnxruntime-node';
import type { PcmChunk } from '../src/engine/pcm.ts';
import { createGptSovitsBackend } from '../src/engine/backends/gpt-sovits/index.ts';
import type { GptSovitsOptions } from '../src/engine/backends/gpt-sovits/index.ts';
import { startDecoder } from '../src/engine/backends/gpt-sovits/t2s-decoder.ts';
import { VOICE_GRAPH_FILES } from '../src/engine/backends/gpt-sovits/voice-files.ts';
import { writeFixtureModels, voiceGraphs } from '../test/backends/gpt-sovits/fixtures/fixture-graphs.ts';
import { MemoryVoiceFiles, SCRIPT, sampleSource } from '../test/backends/gpt-sovits/helpers.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/** A full GC before memory and timing figures, without asking for --expose-gc on the command line. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc === 'function') gc();
}

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const TEXT = 'The quick brown fox jumps over the lazy dog, and then it runs far away into the quiet forest.';
const signal = () => new AbortController().signal;

async function voiceFor(modelsDir: string, f0: number, provider: 'cpu' | 'cuda'): Promise<MemoryVoiceFiles> {
  const files = new MemoryVoiceFiles();
  await createGptSovitsBackend({ modelsDir, executionProvider: provider }).prepareSample(sampleSource({ f0, level: 0.5 }, SCRIPT), files, signal());
  return files;
}

async function drainTimed(stream: AsyncIterable<PcmChunk>, started: number): Promise<{ first: number; seconds: number }> {
  let first = -1;
  let samples = 0;
  let rate = 32_000;
  for await (const chunk of stream) {
    if (first < 0) first = performance.now() - started;
    samples += chunk.samples.length;
    rate = chunk.sampleRate;
  }
  return { first, seconds: samples / rate };
}

/** The TS loop against bare session.run feeding outputs straight back, over the same steps. */
async function loopOverhead(dir: string, provider: 'cpu' | 'cuda', lengths: readonly number[], figures: BenchFigure[]): Promise<void> {
  const options = { executionProviders: [provider], intraOpNumThreads: 1 };
  const [encoder, fsdec, sdec] = await Promise.all(['t2s_encoder', 't2s_fsdec', 't2s_sdec'].map((g) => ort.InferenceSession.create(join(dir, `${g}.onnx`), options)));
  const graphs = { encoder: encoder!, fsdec: fsdec!, sdec: sdec! };
  const inputs = {
    refIds: Array.from({ length: 40 }, (_, i) => 100 + (i % 50)),
    textIds: Array.from({ length: 60 }, (_, i) => 120 + (i % 50)),
    refBert: new Float32Array(40 * 1024),
    textBert: new Float32Array(60 * 1024),
    ssl: Float32Array.from({ length: 768 * 400 }, (_, i) => Math.sin(i * 0.37) * 0.1),
    sslFrames: 400,
  };
  const tensors = () => ({
    ref_seq: new ort.Tensor('int64', BigInt64Array.from(inputs.refIds, BigInt), [1, 40]),
    text_seq: new ort.Tensor('int64', BigInt64Array.from(inputs.textIds, BigInt), [1, 60]),
    ref_bert: new ort.Tensor('float32', inputs.refBert, [40, 1024]),
    text_bert: new ort.Tensor('float32', inputs.textBert, [60, 1024]),
    ssl_content: new ort.Tensor('float32', inputs.ssl, [1, 768, 400]),
  });
  for (const length of lengths) {
    // Alternate the two runs and keep the best of each: the machine is shared and noisy.
    let loopBest = Infinity;
    let bareBest = Infinity;
    let steps = 0;
    let kvPerPosition = 0;
    let startPositions = 0;
    for (let rep = 0; rep < (length >= 1500 ? 1 : 2); rep++) {
      collectGarbage();
      const decoder = await startDecoder({ kind: 'legacy', ...graphs }, inputs, { maxTokens: length });
      let t = performance.now();
      steps = 0;
      while ((await decoder.next()) !== null) steps++;
      loopBest = Math.min(loopBest, (performance.now() - t) / steps);
      // Bare: the same number of sdec runs, outputs fed straight back with no checks at all.
      const enc = await encoder!.run(tensors());
      const fs = await fsdec!.run({ x: enc['x']!, prompts: enc['prompts']! });
      const k = fs['k']!;
      startPositions = k.dims[1] ?? 0;
      kvPerPosition = (k.data as Float32Array).byteLength / Math.max(1, startPositions);
      let feeds = { iy: fs['y']!, ik: k, iv: fs['v']!, iy_emb: fs['y_emb']!, ix_example: fs['x_example']! };
      collectGarbage();
      t = performance.now();
      for (let i = 1; i < steps; i++) {
        const out = await sdec!.run(feeds);
        feeds = { iy: out['y']!, ik: out['k']!, iv: out['v']!, iy_emb: out['y_emb']!, ix_example: feeds.ix_example };
      }
      bareBest = Math.min(bareBest, (performance.now() - t) / Math.max(1, steps - 1));
    }
    // Each sdec step copies k and v in and out: 4 × bytes per position × positions at that step.
    const positionsSummed = steps * startPositions + (steps * steps) / 2;
    figures.push(
      { metric: `loop ${length}: tokens reached`, value: steps, unit: 'tokens' },
      { metric: `loop ${length}: TS loop per token`, value: loopBest, unit: 'ms' },
      { metric: `loop ${length}: bare session.run per token`, value: bareBest, unit: 'ms' },
      { metric: `loop ${length}: TS overhead per token`, value: loopBest - bareBest, unit: 'ms' },
      { metric: `loop ${length}: KV cache (k+v) at the end`, value: (2 * kvPerPosition * (startPositions + steps)) / 2 ** 20, unit: 'MiB' },
      { metric: `loop ${length}: KV bytes copied in+out per token (mean)`, value: (4 * kvPerPosition * positionsSummed) / steps / 2 ** 20, unit: 'MiB' },
    );
  }
  await Promise.all([encoder!.release(), fsdec!.release(), sdec!.release()]);
}

const suite: BenchSuite = {
  name: 'gpt-sovits',
  async run({ args }) {
    const figures: BenchFigure[] = [];
    const provider = flag(args, '--provider') === 'cuda' ? 'cuda' : 'cpu';
    const realDir = flag(args, '--models');
    const layers = Number(flag(args, '--layers') ?? 24);
    const dim = Number(flag(args, '--dim') ?? 64);
    const temp = realDir ? null : await mkdtemp(join(tmpdir(), 'vocalis-gsv-bench-'));
    try {
      let speechDir = realDir ?? '';
      let longDir = realDir ?? '';
      if (temp) {
        speechDir = await writeFixtureModels(join(temp, 'speech'), { layers, dim, tokensPerPhone: [2, 1], extraTokens: 12, layout: 'legacy' });
        longDir = await writeFixtureModels(join(temp, 'long'), { layers, dim, tokensPerPhone: [0, 1], extraTokens: 100_000, layout: 'legacy' });
      }
      figures.push({ metric: realDir ? 'models: real directory' : `models: fixtures, ${layers} layers, width ${dim}`, value: 0, unit: '' });

      await loopOverhead(longDir, provider, [100, 500, 1500], figures);

      const base: GptSovitsOptions = { modelsDir: speechDir, executionProvider: provider };
      const voices = await Promise.all(Array.from({ length: 16 }, (_, i) => voiceFor(speechDir, 100 + i * 10, provider)));
      for (const streaming of ['chunk', 'segment'] as const) {
        const backend = createGptSovitsBackend({ ...base, streaming });
        const voice = await backend.loadVoice(voices[0]!, signal());
        await drainTimed(voice.synthesize({ text: 'Warm up.', language: 'en', speed: 1, variability: 0.5, signal: signal() }), performance.now());
        const started = performance.now();
        const r = await drainTimed(voice.synthesize({ text: TEXT, language: 'en', speed: 1, variability: 0.5, signal: signal() }), started);
        const total = performance.now() - started;
        figures.push(
          { metric: `time to first audio (${streaming} mode)`, value: r.first, unit: 'ms', target: 'upstream, RTX 3090 class: 300–3000 ms' },
          { metric: `real-time factor (${streaming} mode)`, value: total / 1000 / r.seconds, unit: '×', target: 'upstream README, RTX 4090: 0.014' },
        );
      }

      for (const concurrent of [1, 4, 16]) {
        const backend = createGptSovitsBackend({ ...base, maxConcurrent: concurrent, streaming: 'chunk' });
        const loaded = await Promise.all(voices.slice(0, concurrent).map((v) => backend.loadVoice(v, signal())));
        const started = performance.now();
        const results = await Promise.all(loaded.map((v) => drainTimed(v.synthesize({ text: TEXT, language: 'en', speed: 1, variability: 0.5, signal: signal() }), started)));
        const wall = (performance.now() - started) / 1000;
        const audio = results.reduce((s, r) => s + r.seconds, 0);
        figures.push(
          { metric: `throughput, ${concurrent} voices at once`, value: audio / wall, unit: 'audio s/s' },
          { metric: `first audio, worst of ${concurrent} voices`, value: Math.max(...results.map((r) => r.first)), unit: 'ms' },
        );
      }

      // Memory: zero-shot voices hold only conditioning; fine-tuned voices also hold their own sessions.
      const backend = createGptSovitsBackend({ ...base, voiceModelCacheBytes: 2 ** 40 });
      collectGarbage();
      let rss = process.memoryUsage().rss;
      const buffers = process.memoryUsage().arrayBuffers;
      const zeroShot = await Promise.all(voices.map((v) => backend.loadVoice(v, signal())));
      collectGarbage();
      figures.push(
        { metric: 'RSS growth per zero-shot voice', value: (process.memoryUsage().rss - rss) / zeroShot.length / 2 ** 20, unit: 'MiB' },
        { metric: 'JS buffer growth per zero-shot voice', value: (process.memoryUsage().arrayBuffers - buffers) / zeroShot.length / 2 ** 20, unit: 'MiB' },
      );
      figures.push({ metric: 'conditioning bytes per zero-shot voice', value: (zeroShot[0]?.sizeBytes ?? 0) / 2 ** 20, unit: 'MiB' });
      if (temp) {
        collectGarbage();
        rss = process.memoryUsage().rss;
        const tuned = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
          const files = new MemoryVoiceFiles();
          for (const [k, v] of voices[i]!.files) files.files.set(k, v);
          const g = voiceGraphs({ layers, dim, tokensPerPhone: [2, 1], extraTokens: 12 + i, layout: 'legacy' });
          files.files.set(VOICE_GRAPH_FILES.encoder, g['t2s_encoder.onnx']!);
          files.files.set(VOICE_GRAPH_FILES.fsdec, g['t2s_fsdec.onnx']!);
          files.files.set(VOICE_GRAPH_FILES.sdec, g['t2s_sdec.onnx']!);
          files.files.set(VOICE_GRAPH_FILES.vits, g['vits.onnx']!);
          return backend.loadVoice(files, signal());
        }));
        collectGarbage();
        figures.push(
          { metric: 'RSS growth per fine-tuned voice (fixture graphs)', value: (process.memoryUsage().rss - rss) / tuned.length / 2 ** 20, unit: 'MiB' },
          { metric: 'model bytes per fine-tuned voice (fixture graphs)', value: backend.voiceSessionBytes / tuned.length / 2 ** 20, unit: 'MiB' },
        );
        for (const v of tuned) v.dispose();
      }
      for (const v of zeroShot) v.dispose();
      return figures;
    } finally {
      if (temp) await rm(temp, { recursive: true, force: true });
    }
  },
};

export default suite;

/**
 * GPT-SoVITS backend benchmarks.
 *
 *   npm run bench -- gpt-sovits [--models DIR] [--legacy-models DIR] [--provider cuda] [--steps N] [--legacy-steps N]
 *
 * `--models DIR`: a models directory written by scripts/gpt-sovits/export_onnx.py --shared
 * (real architecture; random weights are fine for timing). `--legacy-models DIR`: the same
 * checkpoint exported with `--decoder legacy` (upstream-style t2s_fsdec/t2s_sdec), for the
 * "before" column of the decode-loop figures. Without them, fixture graphs are written to a temp
 * folder (24 layers, width 64: the real width is 512, so cache bytes are 1/8 of a real model's
 * and the fixtures do almost no arithmetic — they show copying and runtime costs only).
 *
 * Decode figures suppress EOS (tokens are fed, not sampled), so every run reaches the lengths.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import ort from 'onnxruntime-node';
import type { PcmChunk } from '../src/engine/pcm.ts';
import { createGptSovitsBackend } from '../src/engine/backends/gpt-sovits/index.ts';
import type { GptSovitsOptions } from '../src/engine/backends/gpt-sovits/index.ts';
import { KvStepper } from '../src/engine/backends/gpt-sovits/kv-decoder.ts';
import { sessionFromBytes, sessionFromFile } from '../src/engine/backends/gpt-sovits/onnx-session.ts';
import type { ExecutionProvider, Session } from '../src/engine/backends/gpt-sovits/onnx-session.ts';
import { runEncoder } from '../src/engine/backends/gpt-sovits/t2s-encoder.ts';
import { writeFixtureModels } from '../test/backends/gpt-sovits/fixtures/fixture-graphs.ts';
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

const ENGLISH_12_WORDS = 'The quick brown fox jumps over the lazy dog near the river bank.';
const CHINESE_20_CHARS = '今天天气很好我们一起去公园散步然后回家吃饭';
const signal = (): AbortSignal => new AbortController().signal;
const LENGTHS = [100, 500, 1000] as const;
/** Steps averaged for "per token at length L": the WINDOW steps ending at L. */
const WINDOW = 20;

/** Encoder inputs of a typical segment: 40 prompt phones, 60 text phones, a 5 s reference. */
function segmentInputs() {
  const frames = 250;
  return {
    refIds: Array.from({ length: 40 }, (_, i) => 100 + (i % 50)),
    textIds: Array.from({ length: 60 }, (_, i) => 120 + (i % 50)),
    refBert: new Float32Array(40 * 1024),
    textBert: new Float32Array(60 * 1024),
    ssl: Float32Array.from({ length: 768 * frames }, (_, i) => Math.sin(i * 0.37) * 0.5),
    sslFrames: frames,
  };
}

function windowMean(times: readonly number[], end: number): number {
  const slice = times.slice(Math.max(0, end - WINDOW), end);
  return slice.reduce((a, b) => a + b, 0) / Math.max(1, slice.length);
}

/** Vocalis's decoder: per-step times of `steps` fed tokens after the prompt pass. */
async function kvStepTimes(encoder: Session, decoder: Session, steps: number): Promise<{ times: number[]; cacheMiB: number }> {
  const { x, prompts } = await runEncoder(encoder, segmentInputs());
  const stepper = new KvStepper(decoder);
  await stepper.prefill(x, prompts.data as BigInt64Array);
  const times: number[] = [];
  collectGarbage();
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await stepper.step(512 + ((i * 37) % 500));
    times.push(performance.now() - t);
  }
  const cacheMiB = stepper.cacheBytes / 2 ** 20;
  stepper.dispose();
  return { times, cacheMiB };
}

/** Upstream-style graphs: fsdec once, then sdec with every output fed straight back (EOS ignored). */
async function legacyStepTimes(encoder: Session, fsdec: Session, sdec: Session, steps: number, reached: (times: readonly number[]) => void): Promise<number[]> {
  const enc = await runEncoder(encoder, segmentInputs());
  const fs = await fsdec.run({ x: enc.x, prompts: enc.prompts });
  let feeds: Record<string, ort.Tensor> = { iy: fs['y']!, ik: fs['k']!, iv: fs['v']!, iy_emb: fs['y_emb']!, ix_example: fs['x_example']! };
  const times: number[] = [];
  collectGarbage();
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    const out = await sdec.run(feeds);
    feeds = { iy: out['y']!, ik: out['k']!, iv: out['v']!, iy_emb: out['y_emb']!, ix_example: feeds['ix_example']! };
    times.push(performance.now() - t);
    reached(times);
  }
  return times;
}

/** Figures are also written to stderr as they are measured: real-model runs are long and a partial run still tells something. */
function report(figures: BenchFigure[], ...added: BenchFigure[]): void {
  figures.push(...added);
  for (const f of added) process.stderr.write(`[gpt-sovits bench] ${f.metric}: ${f.value.toPrecision(4)} ${f.unit}\n`);
}

/** Vocalis's decoder at 100/500/1000 tokens; returns the per-step times for the comparison. */
async function decodeScaling(kvDir: string, provider: ExecutionProvider, steps: number, figures: BenchFigure[]): Promise<number[]> {
  const encoder = await sessionFromFile(join(kvDir, 't2s_encoder.onnx'), provider);
  const decoder = await sessionFromFile(join(kvDir, 't2s_decoder.onnx'), provider);
  const kv = await kvStepTimes(encoder, decoder, steps);
  await Promise.all([decoder.release(), encoder.release()]);
  for (const length of LENGTHS) {
    if (length <= steps)
      report(figures, { metric: `decode per token at ${length} tokens, Vocalis KV decoder`, value: windowMean(kv.times, length), unit: 'ms' });
  }
  report(figures, { metric: `KV cache held after ${steps} tokens (Vocalis, with spare capacity)`, value: kv.cacheMiB, unit: 'MiB' });
  return kv.times;
}

/** The same lengths through upstream-style graphs (run last: on a real model it is by far the slowest part). */
async function legacyScaling(legacyDir: string, kvTimes: readonly number[], provider: ExecutionProvider, steps: number, figures: BenchFigure[]): Promise<void> {
  const [encoder, fsdec, sdec] = await Promise.all(
    ['t2s_encoder', 't2s_fsdec', 't2s_sdec'].map((g) => sessionFromFile(join(legacyDir, `${g}.onnx`), provider)),
  );
  await legacyStepTimes(encoder!, fsdec!, sdec!, steps, (times) => {
    const length = times.length;
    if (!(LENGTHS as readonly number[]).includes(length) || length > kvTimes.length) return;
    const before = windowMean(times, length);
    report(
      figures,
      { metric: `decode per token at ${length} tokens, upstream-style fsdec/sdec`, value: before, unit: 'ms' },
      { metric: `decode per token at ${length} tokens, speed-up`, value: before / windowMean(kvTimes, length), unit: '×' },
    );
  });
  await Promise.all([encoder!.release(), fsdec!.release(), sdec!.release()]);
}

async function vitsPerSecond(dir: string, provider: ExecutionProvider, figures: BenchFigure[]): Promise<void> {
  const vits = await sessionFromFile(join(dir, 'vits.onnx'), provider);
  const tokens = 100; // 4 s of audio
  const ref = Float32Array.from({ length: 32_000 * 5 }, (_, i) => Math.sin(i * 0.05) * 0.3);
  const feeds: Record<string, ort.Tensor> = {
    text_seq: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: 60 }, (_, i) => BigInt(120 + (i % 50))),
      [1, 60],
    ),
    pred_semantic: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: tokens }, (_, i) => BigInt((i * 37) % 1024)),
      [1, 1, tokens],
    ),
    ref_audio: new ort.Tensor('float32', ref, [1, ref.length]),
  };
  if (vits.inputNames.includes('sv_emb')) feeds['sv_emb'] = new ort.Tensor('float32', new Float32Array(20480).fill(0.01), [1, 20480]);
  await vits.run(feeds); // warm-up
  const t = performance.now();
  const out = await vits.run(feeds);
  const ms = performance.now() - t;
  const seconds = (out['audio']?.data.length ?? 0) / 32_000;
  report(figures, { metric: 'vits time per second of audio (4 s decoded at once)', value: ms / seconds, unit: 'ms' });
  await vits.release();
}

async function sslTime(dir: string, provider: ExecutionProvider, figures: BenchFigure[]): Promise<void> {
  const ssl = await sessionFromFile(join(dir, 'cnhubert.onnx'), provider);
  const audio = Float32Array.from({ length: 16_000 * 5 }, (_, i) => Math.sin(i * 0.07) * 0.3);
  const feeds = { ref_audio_16k: new ort.Tensor('float32', audio, [1, audio.length]) };
  await ssl.run(feeds);
  const t = performance.now();
  await ssl.run(feeds);
  report(figures, { metric: 'cnhubert time for a 5 s reference', value: performance.now() - t, unit: 'ms' });
  await ssl.release();
}

async function firstAudio(dir: string, provider: ExecutionProvider, figures: BenchFigure[]): Promise<void> {
  const base: GptSovitsOptions = { modelsDir: dir, executionProvider: provider, streaming: 'chunk', seed: 1 };
  const backend = createGptSovitsBackend(base);
  const files = new MemoryVoiceFiles();
  await backend.prepareSample(sampleSource({ f0: 140, level: 0.5 }, SCRIPT), files, signal());
  const voice = await backend.loadVoice(files, signal());
  for (const [label, text, language] of [
    ['12-word English sentence', ENGLISH_12_WORDS, 'en'],
    ['20-character Chinese sentence', CHINESE_20_CHARS, 'zh'],
  ] as const) {
    const started = performance.now();
    let first = -1;
    for await (const chunk of voice.synthesize({ text, language, speed: 1, variability: 0.5, signal: signal() }) as AsyncIterable<PcmChunk>) {
      void chunk;
      first = performance.now() - started;
      break;
    }
    report(figures, {
      metric: `first audio, ${label}, chunk mode (20 tokens)`,
      value: first,
      unit: 'ms',
      target: 'Genie-TTS (ONNX, CPU) first inference 1130 ms',
    });
  }
  voice.dispose();
  await backend.close();
}

/** RSS growth when one fine-tuned voice's graphs are loaded from bytes, as the voice cache does. */
async function voiceMemory(label: string, dir: string, files: readonly string[], provider: ExecutionProvider, figures: BenchFigure[]): Promise<void> {
  const bytes = await Promise.all(files.map((f) => readFile(join(dir, f))));
  collectGarbage();
  const rss = process.memoryUsage().rss;
  const sessions = await Promise.all(bytes.map((b, i) => sessionFromBytes(b, files[i] ?? '', provider)));
  collectGarbage();
  const grown = (process.memoryUsage().rss - rss) / 2 ** 20;
  report(
    figures,
    { metric: `resident memory per fine-tuned voice, ${label}`, value: grown, unit: 'MiB' },
    { metric: `model bytes per fine-tuned voice, ${label}`, value: bytes.reduce((s, b) => s + b.length, 0) / 2 ** 20, unit: 'MiB' },
  );
  await Promise.all(sessions.map((s) => s.release()));
}

async function exportTimes(dir: string, figures: BenchFigure[]): Promise<void> {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return;
  const manifest = JSON.parse(await readFile(path, 'utf8')) as { version?: string; export?: Record<string, number> };
  for (const [step, seconds] of Object.entries(manifest.export ?? {})) {
    figures.push({ metric: `export (${manifest.version ?? '?'}): ${step.replace(/_s$/, '')}`, value: seconds, unit: 's' });
  }
}

/** Fixture-only: throughput with many voices at once (the real graphs are too slow for 16 voices on CPU). */
async function throughput(dir: string, provider: ExecutionProvider, figures: BenchFigure[]): Promise<void> {
  const text = 'The quick brown fox jumps over the lazy dog, and then it runs far away into the quiet forest.';
  const prepared = await Promise.all(
    Array.from({ length: 16 }, async (_, i) => {
      const files = new MemoryVoiceFiles();
      await createGptSovitsBackend({ modelsDir: dir, executionProvider: provider }).prepareSample(
        sampleSource({ f0: 100 + i * 10, level: 0.5 }, SCRIPT),
        files,
        signal(),
      );
      return files;
    }),
  );
  for (const concurrent of [1, 4, 16]) {
    const backend = createGptSovitsBackend({ modelsDir: dir, executionProvider: provider, maxConcurrent: concurrent, streaming: 'chunk', seed: 1 });
    const loaded = await Promise.all(prepared.slice(0, concurrent).map((v) => backend.loadVoice(v, signal())));
    const started = performance.now();
    const seconds = await Promise.all(
      loaded.map(async (v) => {
        let samples = 0;
        for await (const chunk of v.synthesize({ text, language: 'en', speed: 1, variability: 0.5, signal: signal() })) samples += chunk.samples.length;
        return samples / 32_000;
      }),
    );
    const wall = (performance.now() - started) / 1000;
    figures.push({ metric: `throughput, ${concurrent} voices at once (fixtures)`, value: seconds.reduce((a, b) => a + b, 0) / wall, unit: 'audio s/s' });
    for (const v of loaded) v.dispose();
  }
}

const suite: BenchSuite = {
  name: 'gpt-sovits',
  async run({ args }) {
    const figures: BenchFigure[] = [];
    const provider: ExecutionProvider = flag(args, '--provider') === 'cuda' ? 'cuda' : 'cpu';
    const realDir = flag(args, '--models');
    const steps = Number(flag(args, '--steps') ?? 1000);
    const legacySteps = Number(flag(args, '--legacy-steps') ?? steps);
    const temp = realDir ? null : await mkdtemp(join(tmpdir(), 'vocalis-gsv-bench-'));
    try {
      let dir = realDir ?? '';
      let legacyDir = flag(args, '--legacy-models') ?? null;
      if (temp) {
        const fixture = { layers: 24, dim: 64, tokensPerPhone: [2, 1] as const, extraTokens: 12 };
        dir = await writeFixtureModels(join(temp, 'kv'), fixture);
        legacyDir = await writeFixtureModels(join(temp, 'legacy'), { ...fixture, layout: 'legacy' });
      }
      figures.push({
        metric: realDir ? `models: ${realDir}${legacyDir ? ` (before: ${legacyDir})` : ''}` : 'models: fixtures, 24 layers, width 64',
        value: 0,
        unit: '',
      });
      const kvTimes = await decodeScaling(dir, provider, steps, figures);
      await vitsPerSecond(dir, provider, figures);
      await sslTime(dir, provider, figures);
      await firstAudio(dir, provider, figures);
      await voiceMemory('Vocalis export (encoder + decoder + vits)', dir, ['t2s_encoder.onnx', 't2s_decoder.onnx', 'vits.onnx'], provider, figures);
      if (legacyDir)
        await voiceMemory(
          'upstream-style (encoder + fsdec + sdec + vits)',
          legacyDir,
          ['t2s_encoder.onnx', 't2s_fsdec.onnx', 't2s_sdec.onnx', 'vits.onnx'],
          provider,
          figures,
        );
      await exportTimes(dir, figures);
      if (temp) await throughput(dir, provider, figures);
      if (legacyDir && legacySteps > 0) await legacyScaling(legacyDir, kvTimes, provider, legacySteps, figures);
      return figures;
    } finally {
      if (temp) await rm(temp, { recursive: true, force: true });
    }
  },
};

export default suite;

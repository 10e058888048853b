/** The whole chain on fixture graphs: sample → reference → front end → t2s loop → vits → Opus. */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BackendError } from '../../../src/engine/backend.ts';
import { pcmToOpusFrames } from '../../../src/engine/audio/opus-frames.ts';
import { createGptSovitsBackend } from '../../../src/engine/backends/gpt-sovits/index.ts';
import { CONDITIONING_FILE, conditioningSchema } from '../../../src/engine/backends/gpt-sovits/voice-files.ts';
import { MemoryVoiceFiles, SCRIPT, collect, fixtureDir, maxAbsDiff, sampleSource } from './helpers.ts';

const request = (text: string, signal = new AbortController().signal) => ({ text, language: 'en', speed: 1, variability: 0.5, signal });

describe('GPT-SoVITS chain on fixture graphs', () => {
  let models: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    models = await fixtureDir();
  });
  afterAll(() => models.cleanup());

  async function preparedVoice(f0: number, level: number, withScript = true): Promise<MemoryVoiceFiles> {
    const backend = createGptSovitsBackend({ modelsDir: models.dir });
    const files = new MemoryVoiceFiles();
    const prepared = await backend.prepareSample(sampleSource({ f0, level }, withScript ? SCRIPT : null), files, new AbortController().signal);
    assert.equal(prepared.zeroShot, true);
    return files;
  }

  it('prepares a reference of 3–10 s with the script sentences it covers as prompt', async () => {
    const files = await preparedVoice(140, 0.5);
    const conditioning = conditioningSchema.parse(JSON.parse(new TextDecoder().decode(files.files.get(CONDITIONING_FILE))));
    const seconds = conditioning.refSeconds.end - conditioning.refSeconds.start;
    assert.ok(seconds >= 3 && seconds <= 10, `reference is ${seconds} s`);
    assert.ok(conditioning.promptText && SCRIPT.sentences.some((s) => conditioning.promptText?.includes(s)));
    // Without a script the clip still works, reference-free.
    const bare = await preparedVoice(140, 0.5, false);
    const c2 = conditioningSchema.parse(JSON.parse(new TextDecoder().decode(bare.files.get(CONDITIONING_FILE))));
    assert.equal(c2.promptText, null);
  });

  it('speaks a voice without prompt text with no prompt at all (upstream TTS.py), others with theirs', async () => {
    const { textToSegments } = await import('../../../src/engine/backends/gpt-sovits/text/front-end.ts');
    const backend = createGptSovitsBackend({ modelsDir: models.dir, streaming: 'segment', seed: 1 });
    const text = 'Hello there, my friend.';
    // Fixture decoder: phones in the encoder (prompt + text) + 12 tokens per segment, 1280 samples each.
    const textPhones = textToSegments(text, 'en').map((s) => s.ids.length);
    const bare = await collect((await backend.loadVoice(await preparedVoice(140, 0.5, false), new AbortController().signal)).synthesize(request(text)));
    assert.equal(
      bare.samples.length,
      textPhones.reduce((n, p) => n + (p + 12) * 1280, 0),
    );
    const prompted = await preparedVoice(140, 0.5);
    const promptPhones = conditioningSchema.parse(JSON.parse(new TextDecoder().decode(prompted.files.get(CONDITIONING_FILE)))).promptIds.length;
    const spoken = await collect((await backend.loadVoice(prompted, new AbortController().signal)).synthesize(request(text)));
    assert.equal(
      spoken.samples.length,
      textPhones.reduce((n, p) => n + (p + promptPhones + 12) * 1280, 0),
    );
  });

  it("feeds the request's speed and variability to vits (upstream's speed and noise_scale); older graphs keep speaking", async () => {
    const files = await preparedVoice(140, 0.5);
    const backend = createGptSovitsBackend({ modelsDir: models.dir, streaming: 'segment', seed: 1 });
    const voice = await backend.loadVoice(files, new AbortController().signal);
    const text = 'Hello there, my friend.';
    const speak = (speed: number, variability: number) => collect(voice.synthesize({ ...request(text), speed, variability }));
    const normal = await speak(1, 0.5);
    const fast = await speak(2, 0.5);
    // The fixture stretches each segment's audio to floor(n / speed) samples, as upstream's speed does.
    assert.ok(Math.abs(fast.samples.length - normal.samples.length / 2) <= 4, `${fast.samples.length} vs ${normal.samples.length}`);
    assert.ok((await speak(0.5, 0.5)).samples.length >= normal.samples.length * 2 - 4);
    const level = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(level((await speak(1, 1)).samples) > level(normal.samples) * 1.2, 'noise_scale reached vits');
    // A voice exported before vits took these inputs still loads and speaks at its own rate.
    const old = await fixtureDir();
    try {
      const { encodeModel } = await import('./fixtures/onnx-writer.ts');
      const { vits } = await import('./fixtures/fixture-graphs.ts');
      const { writeFile } = await import('node:fs/promises');
      const { join } = await import('node:path');
      await writeFile(join(old.dir, 'vits.onnx'), encodeModel(vits({ tunable: false })));
      const legacy = await createGptSovitsBackend({ modelsDir: old.dir, streaming: 'segment', seed: 1 }).loadVoice(
        await (async () => {
          const f = new MemoryVoiceFiles();
          await createGptSovitsBackend({ modelsDir: old.dir }).prepareSample(sampleSource({ f0: 140, level: 0.5 }, SCRIPT), f, new AbortController().signal);
          return f;
        })(),
        new AbortController().signal,
      );
      const spoken = await collect(legacy.synthesize({ ...request(text), speed: 2 }));
      assert.equal(spoken.samples.length, normal.samples.length);
    } finally {
      await old.cleanup();
    }
  });

  it('streams chunk by chunk, equal to segment mode, and encodes to Opus', async () => {
    const files = await preparedVoice(140, 0.5);
    const chunked = createGptSovitsBackend({ modelsDir: models.dir, streaming: 'chunk', chunkTokens: 16, overlapTokens: 4 });
    const whole = createGptSovitsBackend({ modelsDir: models.dir, streaming: 'segment' });
    const text = 'Hello there, my friend. This is a streaming test of the chain.';
    const a = await collect((await chunked.loadVoice(files, new AbortController().signal)).synthesize(request(text)));
    const b = await collect((await whole.loadVoice(files, new AbortController().signal)).synthesize(request(text)));
    assert.ok(a.chunks.length > b.chunks.length, `${a.chunks.length} chunks vs ${b.chunks.length} segments`);
    assert.equal(a.samples.length % 1280, 0);
    assert.equal(a.samples.length, b.samples.length);
    assert.ok(maxAbsDiff(a.samples, b.samples) < 1e-4);
    assert.ok(a.chunks.every((c) => c.sampleRate === 32_000));
    let frames = 0;
    for await (const frame of pcmToOpusFrames(a.chunks, { channels: 2 })) {
      assert.ok(frame.length > 0);
      frames++;
    }
    assert.equal(frames, Math.ceil((a.samples.length / 32_000) * 50));
  });

  it('keeps voices apart when many are in flight (no cross-talk)', async () => {
    const voices = await Promise.all([preparedVoice(110, 0.3), preparedVoice(180, 0.6), preparedVoice(240, 0.9)]);
    const backend = createGptSovitsBackend({ modelsDir: models.dir, maxConcurrent: 2, chunkTokens: 16 });
    const texts = ['The first voice speaks now.', 'A second voice, quite different.', 'And the third one talks too.'];
    // Baseline: each voice speaks each text alone, one request at a time.
    const sequential = new Map<string, Float32Array>();
    for (const [v, files] of voices.entries()) {
      const voice = await backend.loadVoice(files, new AbortController().signal);
      for (const [t, text] of texts.entries()) sequential.set(`${v}/${t}`, (await collect(voice.synthesize(request(text)))).samples);
      voice.dispose();
    }
    // Then all nine (voice, text) pairs at once, in a shuffled order, through one backend.
    const loaded = await Promise.all(voices.map((f) => backend.loadVoice(f, new AbortController().signal)));
    const jobs = [
      [2, 0],
      [0, 1],
      [1, 2],
      [0, 0],
      [2, 2],
      [1, 0],
      [2, 1],
      [1, 1],
      [0, 2],
    ] as const;
    const results = await Promise.all(jobs.map(([v, t]) => collect(loaded[v]!.synthesize(request(texts[t]!)))));
    jobs.forEach(([v, t], j) => {
      const alone = sequential.get(`${v}/${t}`)!;
      assert.ok(maxAbsDiff(results[j]!.samples, alone) < 1e-6, `voice ${v} text ${t} differs from its run alone`);
    });
    // And the voices really differ, so a mix-up would have been caught.
    for (let t = 0; t < 3; t++) {
      const [a, b, c] = [0, 1, 2].map((v) => sequential.get(`${v}/${t}`)!);
      assert.ok(maxAbsDiff(a!, b!) > 0.01 && maxAbsDiff(b!, c!) > 0.01 && maxAbsDiff(a!, c!) > 0.01, `text ${t} sounds the same in two voices`);
    }
    for (const v of loaded) v.dispose();
  });

  it('stops and frees its slot when cancelled (a revoked voice) mid-stream', async () => {
    const files = await preparedVoice(150, 0.5);
    const backend = createGptSovitsBackend({ modelsDir: models.dir, maxConcurrent: 1, chunkTokens: 16 });
    const voice = await backend.loadVoice(files, new AbortController().signal);
    const controller = new AbortController();
    let chunks = 0;
    await assert.rejects(async () => {
      for await (const _ of voice.synthesize(request('One. Two sentences here. And a third, long enough to stream.', controller.signal))) {
        chunks++;
        controller.abort(new Error('voice revoked'));
      }
    }, /voice revoked/);
    assert.equal(chunks, 1);
    // The single concurrency slot was released: another request runs to the end.
    const next = await collect(voice.synthesize(request('Still working after the cancel.')));
    assert.ok(next.samples.length > 0);
  });

  it('streams a 5,000-character text', async () => {
    const files = await preparedVoice(150, 0.5);
    const backend = createGptSovitsBackend({ modelsDir: models.dir, streaming: 'segment', maxTokensPerSegment: 12 });
    const voice = await backend.loadVoice(files, new AbortController().signal);
    const text = 'Every sentence in this long text is spoken in its turn. '.repeat(90).slice(0, 5000);
    const { chunks } = await collect(voice.synthesize(request(text)));
    assert.ok(chunks.length > 30);
  });

  for (const layout of ['kv', 'legacy'] as const) {
    it(`serves a fine-tuned voice from its own graphs in memory, cached by bytes (${layout} export)`, async () => {
      const { voiceGraphs } = await import('./fixtures/fixture-graphs.ts');
      const { VOICE_DECODER_FILE, VOICE_GRAPH_FILES } = await import('../../../src/engine/backends/gpt-sovits/voice-files.ts');
      const base = await preparedVoice(150, 0.5);
      const tuned = new MemoryVoiceFiles();
      for (const [k, v] of base.files) tuned.files.set(k, v);
      const graphs = voiceGraphs({ tokensPerPhone: [3, 2], layout });
      const names: Record<string, string> = {
        't2s_encoder.onnx': VOICE_GRAPH_FILES.encoder,
        't2s_decoder.onnx': VOICE_DECODER_FILE,
        't2s_fsdec.onnx': VOICE_GRAPH_FILES.fsdec,
        't2s_sdec.onnx': VOICE_GRAPH_FILES.sdec,
        'vits.onnx': VOICE_GRAPH_FILES.vits,
      };
      for (const [file, bytes] of Object.entries(graphs)) tuned.files.set(names[file]!, bytes);
      const backend = createGptSovitsBackend({ modelsDir: models.dir, voiceModelCacheBytes: 1 });
      const a = await collect((await backend.loadVoice(base, new AbortController().signal)).synthesize(request('Same words for both.')));
      const tunedVoice = await backend.loadVoice(tuned, new AbortController().signal);
      const b = await collect(tunedVoice.synthesize(request('Same words for both.')));
      assert.ok(b.samples.length > a.samples.length, 'the fine-tuned graphs were not used');
      assert.ok(backend.voiceSessionBytes > 0, 'a voice in use stays cached even over the byte limit');
      tunedVoice.dispose();
      assert.equal(backend.voiceSessionBytes, 0, 'an unused voice over the byte limit is evicted');
      // Half a set is corrupt, not silently mixed with the base graphs.
      tuned.files.delete(VOICE_GRAPH_FILES.vits);
      await assert.rejects(
        backend.loadVoice(tuned, new AbortController().signal),
        (e: unknown) => e instanceof BackendError && e.code === 'voice_corrupt' && /vits/.test(e.message),
      );
    });
  }

  it("speaks v2Pro/v2ProPlus graphs with the reference's speaker embedding", async () => {
    const { SV_FILE } = await import('../../../src/engine/backends/gpt-sovits/voice-files.ts');
    const pro = await fixtureDir({ pro: true });
    try {
      const backend = createGptSovitsBackend({ modelsDir: pro.dir, seed: 1 });
      const files = new MemoryVoiceFiles();
      await backend.prepareSample(sampleSource({ f0: 150, level: 0.5 }, SCRIPT), files, new AbortController().signal);
      assert.equal(files.files.get(SV_FILE)?.length, 20480 * 4, 'the speaker embedding is stored with the voice');
      const withSv = await collect((await backend.loadVoice(files, new AbortController().signal)).synthesize(request('Pro voices too.')));
      // A voice prepared before the directory had sv.onnx: the embedding is computed from its reference.
      const older = await preparedVoice(150, 0.5);
      assert.equal(older.files.has(SV_FILE), false);
      const computed = await collect((await backend.loadVoice(older, new AbortController().signal)).synthesize(request('Pro voices too.')));
      assert.equal(computed.samples.length, withSv.samples.length);
      assert.ok(maxAbsDiff(computed.samples, withSv.samples) < 0.05, 'embedding from the stored reference is close to the prepared one');
      // The embedding matters: the fixture's vits output scales with it.
      const plain = await collect(
        (await createGptSovitsBackend({ modelsDir: models.dir, seed: 1 }).loadVoice(files, new AbortController().signal)).synthesize(
          request('Pro voices too.'),
        ),
      );
      assert.ok(maxAbsDiff(plain.samples, withSv.samples) > 0.01);
      // Without sv.onnx a Pro vits graph is refused with the file named.
      const { rm } = await import('node:fs/promises');
      await rm(`${pro.dir}/sv.onnx`);
      await assert.rejects(
        createGptSovitsBackend({ modelsDir: pro.dir }).loadVoice(older, new AbortController().signal),
        (e: unknown) => e instanceof BackendError && e.code === 'model_missing' && /sv\.onnx/.test(e.message),
      );
    } finally {
      await pro.cleanup();
    }
  });

  it('names the missing or corrupt model file and the fix', async () => {
    const files = await preparedVoice(150, 0.5);
    const missing = createGptSovitsBackend({ modelsDir: '/nonexistent/models' });
    await assert.rejects(
      missing.loadVoice(files, new AbortController().signal),
      (e: unknown) => e instanceof BackendError && e.code === 'model_missing' && /t2s_encoder\.onnx/.test(e.message) && /models fetch/.test(e.message),
    );
    const { mkdtemp, writeFile, cp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const broken = await mkdtemp(`${tmpdir()}/vocalis-gsv-broken-`);
    await cp(models.dir, broken, { recursive: true });
    await writeFile(`${broken}/vits.onnx`, new Uint8Array([1, 2, 3, 4, 5]));
    try {
      await assert.rejects(
        createGptSovitsBackend({ modelsDir: broken }).loadVoice(files, new AbortController().signal),
        (e: unknown) => e instanceof BackendError && e.code === 'model_corrupt' && /vits\.onnx/.test(e.message),
      );
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('says plainly that fine-tuning is not available in this backend yet', async () => {
    const backend = createGptSovitsBackend({ modelsDir: models.dir });
    await assert.rejects(backend.fineTune(), (e: unknown) => e instanceof BackendError && e.code === 'not_supported');
  });
});

/**
 * The GPT-SoVITS v2 voice backend, in-process on ONNX Runtime. Shared graphs come from the models
 * directory; a fine-tuned voice's graphs come from its encrypted VoiceFiles and are loaded from
 * memory. Voices are zero-shot as soon as their sample is prepared.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { BackendError } from '../../backend.ts';
import type { FineTuneContext, FineTuneResult, LoadedVoice, PreparedSample, SampleSource, VoiceBackend, VoiceFiles } from '../../backend.ts';
import type { PcmChunk } from '../../pcm.ts';
import { BERT_DIM, BertFeatures } from './bert-features.ts';
import { GptSovitsVoice } from './loaded-voice.ts';
import type { GptSovitsOptions, ResolvedOptions } from './options.ts';
import { resolveOptions } from './options.ts';
import { chooseReference, sliceSeconds } from './reference-clip.ts';
import { Semaphore } from './semaphore.ts';
import { SharedSessions, VoiceSessionLru } from './session-cache.ts';
import type { Lease, VoiceGraphs } from './session-cache.ts';
import { symbolIds } from './symbols.ts';
import type { T2sGraphs } from './t2s-decoder.ts';
import { resample } from '../../audio/resampler.ts';
import { frontEndLanguage, promptToSegment } from './text/front-end.ts';
import type { FrontEndLanguage } from './text/front-end.ts';
import { GptSovitsTrainer } from './training/trainer.ts';
import type { TrainingOptions } from './training/options.ts';
import { StagedVoiceFiles } from './training/staged-files.ts';
import { CONDITIONING_FILE, REF_AUDIO_FILE, SSL_FILE, SV_FILE, bytesToFloats, floatsToBytes, readConditioning, readVoiceGraphs } from './voice-files.ts';
import type { Conditioning } from './voice-files.ts';

export const MODEL_FILES = {
  ssl: 'cnhubert.onnx',
  encoder: 't2s_encoder.onnx',
  fsdec: 't2s_fsdec.onnx',
  sdec: 't2s_sdec.onnx',
  decoder: 't2s_decoder.onnx',
  vits: 'vits.onnx',
  sv: 'sv.onnx',
  bert: 'bert.onnx',
  bertVocab: 'bert-vocab.txt',
} as const;

/** Upstream pads the 16 kHz reference with 0.3 s of silence before SSL. */
const SSL_TAIL_SECONDS = 0.3;

export class GptSovitsBackend implements VoiceBackend {
  readonly info = {
    name: 'gpt-sovits',
    description: 'GPT-SoVITS v2 / v2Pro / v2ProPlus (ONNX, in-process): zero-shot from the sample, fine-tuned voices streamed many at once',
    languages: ['zh', 'en'],
    targetSpeechSeconds: 60,
    minSampleRate: 16_000,
  } as const;

  readonly options: ResolvedOptions;
  readonly #shared: SharedSessions;
  readonly #voiceSessions: VoiceSessionLru;
  readonly #limit: Semaphore;
  #bert: Promise<BertFeatures | null> | null = null;
  /** Present on GPU workers with GPT_SOVITS_HOME; without it fineTune is not supported. */
  readonly #trainer: GptSovitsTrainer | null;

  constructor(options: GptSovitsBackendOptions) {
    this.options = resolveOptions(options);
    this.#trainer = options.training instanceof GptSovitsTrainer ? options.training : options.training ? new GptSovitsTrainer(options.training) : null;
    this.#shared = new SharedSessions(this.options.executionProvider);
    this.#voiceSessions = new VoiceSessionLru(this.options.voiceModelCacheBytes, this.options.executionProvider);
    this.#limit = new Semaphore(this.options.maxConcurrent);
  }

  /** Resident model bytes of fine-tuned voices' sessions (for metrics and tests). */
  get voiceSessionBytes(): number {
    return this.#voiceSessions.residentBytes;
  }

  #model(name: string): string {
    return join(this.options.modelsDir, name);
  }

  /** Names every missing model file at once, so the operator fixes them in one go. */
  #requireModels(names: readonly string[]): void {
    const missing = names.filter((n) => !existsSync(this.#model(n)));
    if (missing.length === 0) return;
    throw new BackendError(
      'model_missing',
      `GPT-SoVITS model file${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing from ${this.options.modelsDir}; run \`vocalis models fetch\` or produce them as docs/backends/gpt-sovits.md describes, then \`vocalis models check\``,
    );
  }

  #bertFeatures(): Promise<BertFeatures | null> {
    this.#bert ??= (async () => {
      if (!existsSync(this.#model(MODEL_FILES.bert))) return null;
      const session = await this.#shared.get(this.#model(MODEL_FILES.bert));
      return BertFeatures.load(session, this.#model(MODEL_FILES.bertVocab));
    })();
    return this.#bert;
  }

  async prepareSample(sample: SampleSource, files: VoiceFiles, signal: AbortSignal): Promise<PreparedSample> {
    const pcm32 = await sample.read(32_000);
    signal.throwIfAborted();
    const choice = chooseReference(pcm32, sample.script);
    if (!choice) throw new BackendError('sample_too_short', 'the sample has no 3–10 s stretch of clear speech to use as the GPT-SoVITS reference');
    const ref32 = sliceSeconds(pcm32, choice.startSeconds, choice.endSeconds);
    const pcm16 = await sample.read(16_000);
    const ref16 = sliceSeconds(pcm16, choice.startSeconds, choice.endSeconds);
    // Tail silence as upstream, then zeros up to whole 20 ms SSL frames (harmless for HuBERT).
    const padded = new Float32Array(Math.ceil((ref16.length + SSL_TAIL_SECONDS * 16_000) / 320) * 320);
    padded.set(ref16);
    this.#requireModels([MODEL_FILES.ssl]);
    const ssl = await this.#shared.get(this.#model(MODEL_FILES.ssl));
    signal.throwIfAborted();
    const out = await ssl.run({ ref_audio_16k: new ort.Tensor('float32', padded, [1, padded.length]) });
    const features = out['last_hidden_state'];
    if (!features || !(features.data instanceof Float32Array) || features.dims.length !== 3) {
      throw new BackendError('model_signature', `${MODEL_FILES.ssl} gave no f32[1,768,T] "last_hidden_state"; run \`vocalis models check\``);
    }
    const prompt = promptFor(choice.promptText, sample.script?.language ?? null);
    const conditioning: Conditioning = {
      format: 1,
      promptText: prompt.text,
      promptLanguage: prompt.language,
      promptPhones: prompt.phones,
      promptIds: symbolIds(prompt.phones),
      refSeconds: { start: choice.startSeconds, end: choice.endSeconds },
      sslFrames: features.dims[2] ?? 0,
    };
    signal.throwIfAborted();
    // v2Pro/v2ProPlus: the speaker embedding of the reference, when the models directory has the speaker model.
    const sv = existsSync(this.#model(MODEL_FILES.sv)) ? await this.#speakerEmbedding(ref16) : null;
    signal.throwIfAborted();
    if (sv) await files.write(SV_FILE, floatsToBytes(sv));
    await files.write(REF_AUDIO_FILE, floatsToBytes(ref32));
    await files.write(SSL_FILE, floatsToBytes(features.data));
    await files.write(CONDITIONING_FILE, new TextEncoder().encode(JSON.stringify(conditioning)));
    return { zeroShot: true };
  }

  /** sv.onnx on 16 kHz reference audio (upstream: SV.compute_embedding3 on the reference resampled to 16 kHz). */
  async #speakerEmbedding(ref16: Float32Array): Promise<Float32Array> {
    this.#requireModels([MODEL_FILES.sv]);
    const session = await this.#shared.get(this.#model(MODEL_FILES.sv));
    const out = await session.run({ audio_16k: new ort.Tensor('float32', ref16, [1, ref16.length]) });
    const emb = out['sv_emb'];
    if (!emb || !(emb.data instanceof Float32Array)) {
      throw new BackendError('model_signature', `${MODEL_FILES.sv} gave no f32 "sv_emb"; run \`vocalis models check\``);
    }
    return emb.data;
  }

  /** The shared t2s graphs: Vocalis's one-graph decoder when exported, else upstream-style fsdec/sdec. */
  async #sharedT2s(): Promise<T2sGraphs> {
    if (existsSync(this.#model(MODEL_FILES.decoder))) {
      this.#requireModels([MODEL_FILES.encoder, MODEL_FILES.decoder, MODEL_FILES.vits]);
      const [encoder, decoder] = await Promise.all([MODEL_FILES.encoder, MODEL_FILES.decoder].map((f) => this.#shared.get(this.#model(f))));
      return { kind: 'kv', encoder: encoder!, decoder: decoder! };
    }
    this.#requireModels([MODEL_FILES.encoder, MODEL_FILES.fsdec, MODEL_FILES.sdec, MODEL_FILES.vits]);
    const [encoder, fsdec, sdec] = await Promise.all([MODEL_FILES.encoder, MODEL_FILES.fsdec, MODEL_FILES.sdec].map((f) => this.#shared.get(this.#model(f))));
    return { kind: 'legacy', encoder: encoder!, fsdec: fsdec!, sdec: sdec! };
  }

  /**
   * Fine-tunes with the operator's GPT-SoVITS (training/trainer.ts). The new version's files are
   * staged in memory — conditioning from the sample, then the four graphs once they passed models
   * check and a smoke synthesis — and written to `ctx.files` only at the very end, so a failed or
   * cancelled job writes nothing; the runner publishes the version when this resolves.
   */
  // `ctx` is optional only so test/backends/gpt-sovits/chain.test.ts's bare call still type-checks.
  async fineTune(ctx?: FineTuneContext): Promise<FineTuneResult> {
    if (!this.#trainer || !ctx) {
      throw new BackendError(
        'not_supported',
        'fine-tuning GPT-SoVITS voices needs a GPU worker with GPT_SOVITS_HOME; see docs/backends/gpt-sovits-training.md',
      );
    }
    const staged = new StagedVoiceFiles();
    await this.prepareSample(ctx.sample, staged, ctx.signal);
    const trained = await this.#trainer.train({
      sample: ctx.sample,
      workDir: join(ctx.scratchDir, 'gpt-sovits-train'),
      signal: ctx.signal,
      progress: (update) => ctx.progress(update),
      synthesize: (graphs, sentences, language, signal) => this.#speak(staged.withGraphs(graphs), sentences, language, signal),
    });
    ctx.signal.throwIfAborted();
    for (const [name, bytes] of Object.entries(trained.graphs)) await staged.write(name, bytes);
    await staged.commitTo(ctx.files);
    return { metrics: trained.metrics };
  }

  /** Whole sentences with a candidate voice, one PCM chunk each (checkpoint scoring, smoke test). */
  async #speak(files: VoiceFiles, sentences: readonly string[], language: string, signal: AbortSignal): Promise<PcmChunk[]> {
    const voice = await this.loadVoice(files, signal);
    try {
      const out: PcmChunk[] = [];
      for (const text of sentences) {
        const parts: Float32Array[] = [];
        let rate = 32_000;
        for await (const chunk of voice.synthesize({ text, language, speed: 1, variability: 0, signal })) {
          parts.push(chunk.samples);
          rate = chunk.sampleRate;
        }
        const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          samples.set(p, at);
          at += p.length;
        }
        out.push({ samples, sampleRate: rate });
      }
      return out;
    } finally {
      voice.dispose();
    }
  }

  async loadVoice(files: VoiceFiles, signal: AbortSignal): Promise<LoadedVoice> {
    const conditioning = await readConditioning(files);
    const [refAudio, ssl] = await Promise.all([files.read(REF_AUDIO_FILE), files.read(SSL_FILE)]);
    signal.throwIfAborted();
    const own = await readVoiceGraphs(files);
    let lease: Lease<VoiceGraphs> | null = null;
    let graphs: VoiceGraphs;
    if (own) {
      lease = await this.#voiceSessions.acquire(own);
      graphs = lease.value;
    } else {
      const t2s = await this.#sharedT2s();
      graphs = { t2s, vits: await this.#shared.get(this.#model(MODEL_FILES.vits)) };
    }
    try {
      signal.throwIfAborted();
      const bert = await this.#bertFeatures();
      const promptSegment = conditioning.promptLanguage === 'zh' && conditioning.promptText ? promptToSegment(conditioning.promptText, 'zh') : null;
      const promptBert =
        bert && promptSegment?.units && promptSegment.ids.length === conditioning.promptIds.length
          ? await bert.features(promptSegment.units, conditioning.promptIds.length)
          : new Float32Array(conditioning.promptIds.length * BERT_DIM);
      const sslFloats = bytesToFloats(ssl);
      const ref32 = bytesToFloats(refAudio);
      const svEmbedding = await this.#voiceSpeakerEmbedding(graphs, files, ref32);
      return new GptSovitsVoice(
        {
          refAudio: ref32,
          ssl: sslFloats,
          sslFrames: conditioning.sslFrames,
          promptIds: conditioning.promptIds,
          promptBert,
          promptless: conditioning.promptText === null,
          svEmbedding,
        },
        { graphs, bert, limit: this.#limit, options: this.options, onDispose: () => lease?.release(), extraBytes: 0 },
      );
    } catch (error) {
      lease?.release();
      throw error;
    }
  }

  /**
   * The voice's speaker embedding when its vits graph takes one (v2Pro/v2ProPlus): stored at
   * preparation, or computed now for a voice prepared before the models directory had sv.onnx.
   */
  async #voiceSpeakerEmbedding(graphs: VoiceGraphs, files: VoiceFiles, ref32: Float32Array): Promise<Float32Array | null> {
    if (!graphs.vits.inputNames.includes('sv_emb')) return null;
    if (await files.has(SV_FILE)) return bytesToFloats(await files.read(SV_FILE));
    if (!existsSync(this.#model(MODEL_FILES.sv))) {
      throw new BackendError(
        'model_missing',
        `this voice's vits graph is v2Pro/v2ProPlus (input sv_emb) but ${MODEL_FILES.sv} is missing from ${this.options.modelsDir}; export it with \`export_onnx.py --shared\` (docs/backends/gpt-sovits.md)`,
      );
    }
    return this.#speakerEmbedding(resample(ref32, 32_000, 16_000));
  }

  /** Releases every session (shutdown). */
  async close(): Promise<void> {
    await this.#shared.release();
  }
}

export interface GptSovitsBackendOptions extends GptSovitsOptions {
  /** Fine-tuning with an operator's GPT-SoVITS checkout (GPU workers); omit to serve only. */
  readonly training?: TrainingOptions | GptSovitsTrainer;
}

/**
 * Prompt phones from the reading script's text (final punctuation added, as upstream's TTS.py).
 * Without text the voice speaks with no prompt at all on Vocalis's decoder (upstream's
 * no-prompt mode); the single pause phone kept here is only for upstream-style graphs, which
 * cannot run without a prompt.
 */
function promptFor(text: string | null, language: string | null): { text: string | null; language: FrontEndLanguage; phones: string[] } {
  let lang: FrontEndLanguage = 'en';
  try {
    if (language) lang = frontEndLanguage(language);
  } catch {
    return { text: null, language: lang, phones: ['.'] };
  }
  const segment = text ? promptToSegment(text, lang) : null;
  if (!segment || segment.phones.length === 0) return { text: null, language: lang, phones: ['.'] };
  return { text, language: lang, phones: [...segment.phones] };
}

export function createGptSovitsBackend(options: GptSovitsBackendOptions): GptSovitsBackend {
  return new GptSovitsBackend(options);
}

/**
 * One loaded GPT-SoVITS voice: its conditioning (reference audio, SSL features, prompt phones and
 * BERT features) and the graphs it speaks with. Every request runs its own decoder state; the
 * only things shared between requests are the stateless sessions and the concurrency limit.
 */
import type { LoadedVoice, SynthesisRequest } from '../../backend.ts';
import type { PcmChunk } from '../../pcm.ts';
import type { BertFeatures } from './bert-features.ts';
import { BERT_DIM } from './bert-features.ts';
import { ChunkStitcher } from './chunk-stream.ts';
import ort from 'onnxruntime-node';
import type { ResolvedOptions } from './options.ts';
import type { Semaphore } from './semaphore.ts';
import type { VoiceGraphs } from './session-cache.ts';
import { startDecoder } from './t2s-decoder.ts';
import type { SemanticDecoder } from './t2s-decoder.ts';
import { textToSegments } from './text/front-end.ts';
import type { TextSegment } from './text/front-end.ts';

export const OUTPUT_RATE = 32_000;

export interface VoiceState {
  readonly refAudio: Float32Array;
  readonly ssl: Float32Array;
  readonly sslFrames: number;
  readonly promptIds: readonly number[];
  readonly promptBert: Float32Array;
  /** No prompt text: no prompt phones and no semantic prompt at all (upstream TTS.py's ref-free mode). */
  readonly promptless: boolean;
  /** Speaker embedding of the reference, for v2Pro/v2ProPlus vits graphs (input `sv_emb`); null otherwise. */
  readonly svEmbedding: Float32Array | null;
}

export interface VoiceDeps {
  readonly graphs: VoiceGraphs;
  readonly bert: BertFeatures | null;
  readonly limit: Semaphore;
  readonly options: ResolvedOptions;
  /** Called once on dispose (releases a fine-tuned voice's session lease). */
  readonly onDispose: () => void;
  readonly extraBytes: number;
}

/**
 * The request's `speed` and `variability` as vits inputs (upstream's speed and noise_scale).
 * Graphs exported before these inputs existed have both baked in (speed 1, noise_scale 0.5); they
 * still speak, at their own rate, until the voice is exported again.
 */
export function vocodingInputs(inputNames: readonly string[], request: Pick<SynthesisRequest, 'speed' | 'variability'>): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  if (inputNames.includes('speed')) feeds['speed'] = new ort.Tensor('float32', Float32Array.of(request.speed), [1]);
  if (inputNames.includes('noise_scale')) feeds['noise_scale'] = new ort.Tensor('float32', Float32Array.of(request.variability), [1]);
  return feeds;
}

export class GptSovitsVoice implements LoadedVoice {
  readonly #state: VoiceState;
  readonly #deps: VoiceDeps;
  #disposed = false;
  readonly sizeBytes: number;

  constructor(state: VoiceState, deps: VoiceDeps) {
    this.#state = state;
    this.#deps = deps;
    this.sizeBytes = state.refAudio.byteLength + state.ssl.byteLength + state.promptBert.byteLength + (state.svEmbedding?.byteLength ?? 0) + deps.extraBytes;
  }

  async *synthesize(request: SynthesisRequest): AsyncGenerator<PcmChunk> {
    const segments = textToSegments(request.text, request.language);
    const seed = this.#deps.options.seed;
    for (const [i, segment] of segments.entries()) {
      request.signal.throwIfAborted();
      if (this.#disposed) throw new Error('voice was disposed');
      yield* this.#segment(segment, request, seed === null ? undefined : seed + i);
    }
  }

  async *#segment(segment: TextSegment, request: SynthesisRequest, seed: number | undefined): AsyncGenerator<PcmChunk> {
    const { graphs, limit, options, bert } = this.#deps;
    const { signal } = request;
    const vocoding = vocodingInputs(graphs.vits.inputNames, request);
    const textBert = bert && segment.units ? await bert.features(segment.units, segment.ids.length) : new Float32Array(segment.ids.length * BERT_DIM);
    const chunked = options.streaming === 'chunk';
    const stitcher = new ChunkStitcher(Math.round((options.fadeMs / 1000) * OUTPUT_RATE));
    const tokens: number[] = [];
    let emitted = 0; // tokens whose audio has been handed out
    let release = await limit.acquire(signal);
    let decoder: SemanticDecoder | null = null;
    try {
      const promptless = this.#state.promptless && graphs.t2s.kind === 'kv';
      decoder = await startDecoder(
        graphs.t2s,
        {
          refIds: promptless ? [] : this.#state.promptIds,
          textIds: segment.ids,
          refBert: promptless ? new Float32Array(0) : this.#state.promptBert,
          textBert,
          ssl: this.#state.ssl,
          sslFrames: this.#state.sslFrames,
        },
        { maxTokens: options.maxTokensPerSegment, promptless, ...(seed === undefined ? {} : { seed }) },
      );
      for (;;) {
        signal.throwIfAborted();
        const token = await decoder.next();
        if (token !== null) tokens.push(token);
        const finished = token === null;
        const due = chunked && tokens.length - emitted >= options.chunkTokens;
        if (!finished && !due) continue;
        if (tokens.length === emitted) break;
        const from = Math.max(0, emitted - options.overlapTokens);
        const audio = await this.#vocode(segment.ids, tokens.slice(from), vocoding, signal);
        const perToken = audio.length / (tokens.length - from);
        const samples = stitcher.push(audio, Math.round((emitted - from) * perToken), finished);
        emitted = tokens.length;
        // Never hold a concurrency slot while the consumer is busy with our audio.
        release();
        if (samples.length > 0) yield { samples, sampleRate: OUTPUT_RATE };
        if (finished) break;
        release = await limit.acquire(signal);
      }
    } finally {
      decoder?.dispose();
      release();
    }
  }

  async #vocode(textIds: readonly number[], tokens: readonly number[], vocoding: Record<string, ort.Tensor>, signal: AbortSignal): Promise<Float32Array> {
    signal.throwIfAborted();
    const feeds: Record<string, ort.Tensor> = {
      text_seq: new ort.Tensor(
        'int64',
        BigInt64Array.from(textIds, (v) => BigInt(v)),
        [1, textIds.length],
      ),
      pred_semantic: new ort.Tensor(
        'int64',
        BigInt64Array.from(tokens, (v) => BigInt(v)),
        [1, 1, tokens.length],
      ),
      ref_audio: new ort.Tensor('float32', this.#state.refAudio, [1, this.#state.refAudio.length]),
      ...vocoding,
    };
    if (this.#state.svEmbedding) feeds['sv_emb'] = new ort.Tensor('float32', this.#state.svEmbedding, [1, this.#state.svEmbedding.length]);
    const out = await this.#deps.graphs.vits.run(feeds);
    const audio = out['audio']?.data;
    if (!(audio instanceof Float32Array)) throw new Error('vits.onnx gave no float "audio" output; run `vocalis models check`');
    return audio;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#deps.onDispose();
  }
}

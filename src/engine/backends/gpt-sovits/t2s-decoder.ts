/**
 * The autoregressive semantic-token loop over the exported graphs: t2s_encoder → t2s_fsdec →
 * t2s_sdec repeatedly, feeding each step's y/k/v/y_emb back in. All state (the KV cache included)
 * lives in this object, one per request segment; sessions are shared and stateless.
 *
 * EOS rules as upstream: EOS = 1024; stop when argmax(logits) or the sample is EOS; EOS is not
 * accepted during the first 11 tokens (the best non-EOS logit is used instead, as upstream masks
 * EOS there); at most 1500 tokens (fsdec's first plus 1499 sdec steps). EOS itself is dropped.
 */
import ort from 'onnxruntime-node';
import type { Session } from './onnx-session.ts';

export const EOS = 1024;
export const MIN_TOKENS_BEFORE_EOS = 11;
export const MAX_TOKENS = 1500;

export interface EncoderInputs {
  readonly refIds: readonly number[];
  readonly textIds: readonly number[];
  /** [refIds.length × 1024] and [textIds.length × 1024]. */
  readonly refBert: Float32Array;
  readonly textBert: Float32Array;
  /** SSL features [768 × frames], channel-major as the graph wants. */
  readonly ssl: Float32Array;
  readonly sslFrames: number;
}

const i64 = (values: readonly number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), [1, values.length]);

function argmax(values: Float32Array | number[], end: number): number {
  let best = 0;
  for (let i = 1; i < end; i++) if ((values[i] ?? -Infinity) > (values[best] ?? -Infinity)) best = i;
  return best;
}

function lastValue(tensor: ort.Tensor): number {
  const data = tensor.data;
  const last = data[data.length - 1];
  return typeof last === 'bigint' ? Number(last) : Number(last);
}

export class SemanticDecoder {
  readonly #sdec: Session;
  readonly #maxTokens: number;
  #feeds: Record<string, ort.Tensor> | null = null;
  #count = 0;
  #done = false;
  #pendingFirst: number | null = null;

  private constructor(sdec: Session, maxTokens: number) {
    this.#sdec = sdec;
    this.#maxTokens = maxTokens;
  }

  /** Runs the encoder and first-stage decoder; the first token is ready after this. */
  static async start(graphs: { encoder: Session; fsdec: Session; sdec: Session }, inputs: EncoderInputs, maxTokens = MAX_TOKENS): Promise<SemanticDecoder> {
    const enc = await graphs.encoder.run({
      ref_seq: i64(inputs.refIds),
      text_seq: i64(inputs.textIds),
      ref_bert: new ort.Tensor('float32', inputs.refBert, [inputs.refIds.length, 1024]),
      text_bert: new ort.Tensor('float32', inputs.textBert, [inputs.textIds.length, 1024]),
      ssl_content: new ort.Tensor('float32', inputs.ssl, [1, 768, inputs.sslFrames]),
    });
    const fs = await graphs.fsdec.run({ x: need(enc, 'x'), prompts: need(enc, 'prompts') });
    const decoder = new SemanticDecoder(graphs.sdec, Math.min(maxTokens, MAX_TOKENS));
    const y = need(fs, 'y');
    let first = lastValue(y);
    if (first === EOS) {
      // EOS cannot come first (it is masked for the first tokens); 0 is upstream's placeholder.
      first = 0;
      (y.data as BigInt64Array)[y.data.length - 1] = 0n;
    }
    decoder.#pendingFirst = first;
    decoder.#feeds = { iy: y, ik: need(fs, 'k'), iv: need(fs, 'v'), iy_emb: need(fs, 'y_emb'), ix_example: need(fs, 'x_example') };
    return decoder;
  }

  get generated(): number {
    return this.#count;
  }

  get done(): boolean {
    return this.#done;
  }

  /** The next semantic token, or null at EOS or the cap. */
  async next(): Promise<number | null> {
    if (this.#done || !this.#feeds) return null;
    if (this.#pendingFirst !== null) {
      const first = this.#pendingFirst;
      this.#pendingFirst = null;
      this.#count = 1;
      if (this.#count >= this.#maxTokens) this.#finish();
      return first;
    }
    const out = await this.#sdec.run(this.#feeds);
    const logits = need(out, 'logits').data as Float32Array;
    const sample = lastValue(need(out, 'samples'));
    const y = need(out, 'y');
    let token = sample;
    if (sample === EOS || argmax(logits, logits.length) === EOS) {
      if (this.#count >= MIN_TOKENS_BEFORE_EOS) {
        this.#finish();
        return null;
      }
      token = argmax(logits, EOS);
      (y.data as BigInt64Array)[y.data.length - 1] = BigInt(token);
    }
    this.#feeds = { iy: y, ik: need(out, 'k'), iv: need(out, 'v'), iy_emb: need(out, 'y_emb'), ix_example: this.#feeds.ix_example! };
    this.#count++;
    if (this.#count >= this.#maxTokens) this.#finish();
    return token;
  }

  /** Drops the KV cache now (cancellation or the end): nothing of the request stays referenced. */
  #finish(): void {
    this.#done = true;
    this.#feeds = null;
  }

  dispose(): void {
    this.#finish();
  }
}

function need(outputs: ort.InferenceSession.OnnxValueMapType, name: string): ort.Tensor {
  const value = outputs[name];
  if (!value) throw new Error(`graph output "${name}" is missing; run \`vocalis models check\``);
  return value as ort.Tensor;
}

/**
 * The decode loop over upstream-style graphs (GPT_SoVITS/onnx_export.py): t2s_fsdec once, then
 * t2s_sdec per token, feeding each step's y/k/v/y_emb back in. Sampling is baked into those
 * graphs. Kept for model directories and fine-tuned voices exported that way; every step copies
 * the whole KV cache in and out, so its cost per token grows with length (kv-decoder.ts does not).
 *
 * EOS rules as upstream: stop when argmax(logits) or the sample is EOS; EOS is not accepted
 * during the first 11 tokens (the best non-EOS logit is used instead); at most 1500 tokens.
 */
import type ort from 'onnxruntime-node';
import type { Session } from './onnx-session.ts';
import { EOS, MAX_TOKENS, MIN_TOKENS_BEFORE_EOS } from './semantic-decoder.ts';
import type { EncoderInputs, SemanticDecoder } from './semantic-decoder.ts';
import { need, runEncoder } from './t2s-encoder.ts';

function argmax(values: Float32Array | number[], end: number): number {
  let best = 0;
  for (let i = 1; i < end; i++) if ((values[i] ?? -Infinity) > (values[best] ?? -Infinity)) best = i;
  return best;
}

function lastValue(tensor: ort.Tensor): number {
  const data = tensor.data;
  return Number(data[data.length - 1]);
}

export class LegacySemanticDecoder implements SemanticDecoder {
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
  static async start(
    graphs: { encoder: Session; fsdec: Session; sdec: Session },
    inputs: EncoderInputs,
    maxTokens = MAX_TOKENS,
  ): Promise<LegacySemanticDecoder> {
    const enc = await runEncoder(graphs.encoder, inputs);
    const fs = await graphs.fsdec.run({ x: enc.x, prompts: enc.prompts });
    const decoder = new LegacySemanticDecoder(graphs.sdec, Math.min(maxTokens, MAX_TOKENS));
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

  async next(): Promise<number | null> {
    if (this.#done || !this.#feeds) return null;
    if (this.#pendingFirst !== null) {
      const first = this.#pendingFirst;
      this.#pendingFirst = null;
      this.#count = 1;
      if (this.#count >= this.#maxTokens) this.dispose();
      return first;
    }
    const out = await this.#sdec.run(this.#feeds);
    if (!this.#feeds) return null; // disposed while the step ran
    const logits = need(out, 'logits').data as Float32Array;
    const sample = lastValue(need(out, 'samples'));
    const y = need(out, 'y');
    let token = sample;
    if (sample === EOS || argmax(logits, logits.length) === EOS) {
      if (this.#count >= MIN_TOKENS_BEFORE_EOS) {
        this.dispose();
        return null;
      }
      token = argmax(logits, EOS);
      (y.data as BigInt64Array)[y.data.length - 1] = BigInt(token);
    }
    this.#feeds = { iy: y, ik: need(out, 'k'), iv: need(out, 'v'), iy_emb: need(out, 'y_emb'), ix_example: this.#feeds.ix_example! };
    this.#count++;
    if (this.#count >= this.#maxTokens) this.dispose();
    return token;
  }

  dispose(): void {
    this.#done = true;
    this.#feeds = null;
  }
}

/**
 * The decode loop over Vocalis's one-graph stage decoder (t2s_decoder.onnx, exported by
 * scripts/gpt-sovits/export_onnx.py): a prompt pass, then one step per token, with the KV cache
 * held here (kv-cache.ts) and only the new rows coming out of the graph, so a step's cost does
 * not include copying the cache. Sampling is upstream's (sampler.ts), seeded per request.
 */
import ort from 'onnxruntime-node';
import { KvCache } from './kv-cache.ts';
import type { Session } from './onnx-session.ts';
import { drawToken, seededRandom, tokenProbabilities, UPSTREAM_SAMPLING } from './sampler.ts';
import type { SamplerSettings } from './sampler.ts';
import { EOS, MAX_TOKENS, MIN_TOKENS_BEFORE_EOS } from './semantic-decoder.ts';
import type { EncoderInputs, SemanticDecoder } from './semantic-decoder.ts';
import { runEncoder } from './t2s-encoder.ts';

/** Spare cache rows allocated up front beyond the prompt pass (doubling afterwards). */
const INITIAL_SPARE_ROWS = 256;

/** How many layers a t2s_decoder graph has (one `k_cache_<l>` input per layer). */
export function decoderLayers(decoder: Session): number {
  return decoder.inputNames.filter((n) => /^k_cache_\d+$/.test(n)).length;
}

/** Logits for a prompt pass and then for each fed token: the graph and the cache, no sampling. */
export class KvStepper {
  readonly #decoder: Session;
  readonly #layers: number;
  #cache: KvCache | null = null;
  #position = 0;
  #zeros = new Float32Array(0);
  #width = 0;

  constructor(decoder: Session) {
    this.#decoder = decoder;
    this.#layers = decoderLayers(decoder);
    if (this.#layers === 0) throw new Error('t2s_decoder.onnx has no k_cache_<layer> inputs; run `vocalis models check`');
  }

  /** Bytes the cache holds now. */
  get cacheBytes(): number {
    return this.#cache?.bytes ?? 0;
  }

  /** The first pass: text positions `x` [1,N,width] and the prompt's semantic tokens (may be empty). */
  async prefill(x: ort.Tensor, prompts: BigInt64Array): Promise<Float32Array> {
    const width = x.dims[2] ?? 0;
    const textLen = x.dims[1] ?? 0;
    const promptLen = prompts.length;
    const total = textLen + promptLen;
    this.#width = width;
    this.#cache = new KvCache(this.#layers, width, total + INITIAL_SPARE_ROWS);
    // The cache is empty now, but ONNX Runtime's optimised graph dies (SIGFPE) on zero-row
    // inputs: the first pass sees one zero row instead, which its mask hides (column 0).
    const keys = total + 1;
    const bias = new Float32Array(total * keys);
    for (let q = 0; q < total; q++) {
      bias[q * keys] = -Infinity;
      for (let k = 0; k < total; k++) {
        // Upstream's first-pass mask: text sees all text; each prompt token sees the text and earlier tokens.
        const allowed = q < textLen ? k < textLen : k <= q;
        if (!allowed) bias[q * keys + 1 + k] = -Infinity;
      }
    }
    this.#position = promptLen;
    const hidden = new ort.Tensor('float32', new Float32Array(width), [1, width]);
    return this.#run(x, new ort.Tensor('int64', prompts, [1, promptLen]), 0, new ort.Tensor('float32', bias, [total, keys]), total, hidden);
  }

  /** Feeds the token just chosen; returns the logits for the one after it. */
  async step(token: number): Promise<Float32Array> {
    const cache = this.#cache;
    if (!cache) throw new Error('KvStepper.step before prefill');
    const keys = cache.length + 1;
    if (this.#zeros.length < keys) this.#zeros = new Float32Array(Math.max(keys, this.#zeros.length * 2));
    const position = this.#position++;
    return this.#run(
      new ort.Tensor('float32', new Float32Array(0), [1, 0, this.#width]),
      new ort.Tensor('int64', BigInt64Array.of(BigInt(token)), [1, 1]),
      position,
      new ort.Tensor('float32', this.#zeros.subarray(0, keys), [1, keys]),
      1,
    );
  }

  async #run(x: ort.Tensor, y: ort.Tensor, start: number, bias: ort.Tensor, rows: number, hiddenRow?: ort.Tensor): Promise<Float32Array> {
    const cache = this.#cache!;
    const feeds: Record<string, ort.Tensor> = { x, y, y_start: new ort.Tensor('int64', BigInt64Array.of(BigInt(start)), [1]), attn_bias: bias };
    if (hiddenRow) {
      for (let l = 0; l < this.#layers; l++) feeds[`k_cache_${l}`] = feeds[`v_cache_${l}`] = hiddenRow;
    } else {
      cache.feeds(feeds);
    }
    const out = await this.#decoder.run(feeds);
    if (this.#cache !== cache) return new Float32Array(0); // disposed while the graph ran
    const logits = out['logits']?.data;
    const kNew = out['k_new']?.data;
    const vNew = out['v_new']?.data;
    if (!(logits instanceof Float32Array) || !(kNew instanceof Float32Array) || !(vNew instanceof Float32Array)) {
      throw new Error('t2s_decoder.onnx must output float logits, k_new and v_new; run `vocalis models check`');
    }
    cache.append(kNew, vNew, rows);
    return logits;
  }

  dispose(): void {
    this.#cache?.clear();
    this.#cache = null;
  }
}

export interface KvDecoderOptions {
  readonly maxTokens: number;
  readonly sampling: SamplerSettings;
  readonly seed: number;
  /** No prompt at all (a voice without prompt text), as upstream's TTS.py does then. */
  readonly promptless: boolean;
}

export class KvSemanticDecoder implements SemanticDecoder {
  readonly #stepper: KvStepper;
  readonly #o: KvDecoderOptions;
  readonly #random: () => number;
  /** Every token so far, prompt included: upstream's repetition penalty looks at all of them. */
  readonly #history: number[];
  #pending: Float32Array | null;
  #last = 0;
  #count = 0;
  #done = false;

  private constructor(stepper: KvStepper, first: Float32Array, prompts: readonly number[], o: KvDecoderOptions) {
    this.#stepper = stepper;
    this.#pending = first;
    this.#history = [...prompts];
    this.#o = o;
    this.#random = seededRandom(o.seed);
  }

  static async start(graphs: { encoder: Session; decoder: Session }, inputs: EncoderInputs, o: Partial<KvDecoderOptions> = {}): Promise<KvSemanticDecoder> {
    const options: KvDecoderOptions = {
      maxTokens: Math.min(o.maxTokens ?? MAX_TOKENS, MAX_TOKENS),
      sampling: o.sampling ?? UPSTREAM_SAMPLING,
      seed: o.seed ?? Math.floor(Math.random() * 2 ** 32),
      promptless: o.promptless ?? false,
    };
    const { x, prompts } = await runEncoder(graphs.encoder, inputs);
    const used = options.promptless ? new BigInt64Array(0) : (prompts.data as BigInt64Array);
    const stepper = new KvStepper(graphs.decoder);
    const first = await stepper.prefill(x, used);
    return new KvSemanticDecoder(stepper, first, Array.from(used, Number), options);
  }

  get generated(): number {
    return this.#count;
  }

  get done(): boolean {
    return this.#done;
  }

  get cacheBytes(): number {
    return this.#stepper.cacheBytes;
  }

  async next(): Promise<number | null> {
    if (this.#done) return null;
    const logits = this.#pending ?? (await this.#stepper.step(this.#last));
    this.#pending = null;
    if (this.#done) return null; // disposed while the step ran
    // Upstream drops EOS from the logits for the first 11 tokens, so it can be neither drawn nor argmax.
    const size = this.#count < MIN_TOKENS_BEFORE_EOS ? EOS : logits.length;
    const probs = tokenProbabilities(logits, size, this.#history, this.#o.sampling);
    const token = drawToken(probs, this.#random);
    if (token === EOS || argmax(logits, size) === EOS) {
      this.dispose();
      return null;
    }
    this.#history.push(token);
    this.#last = token;
    this.#count++;
    if (this.#count >= this.#o.maxTokens) this.dispose();
    return token;
  }

  dispose(): void {
    this.#done = true;
    this.#pending = null;
    this.#stepper.dispose();
  }
}

function argmax(values: Float32Array, end: number): number {
  let best = 0;
  for (let i = 1; i < end; i++) if ((values[i] ?? -Infinity) > (values[best] ?? -Infinity)) best = i;
  return best;
}

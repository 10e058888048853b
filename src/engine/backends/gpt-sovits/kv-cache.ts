/**
 * One request's KV cache for t2s_decoder.onnx: per layer, a key and a value buffer of
 * [capacity × width] floats with the filled rows first. The graph reads the filled prefix as a
 * tensor viewing the buffer (ONNX Runtime reads a CPU tensor's memory in place) and returns only
 * the new rows, which are written behind it. Capacity doubles when full, so the copying is
 * amortised O(1) per token instead of the whole cache in and out on every step.
 */
import ort from 'onnxruntime-node';

export class KvCache {
  readonly layers: number;
  readonly width: number;
  #capacity: number;
  #length = 0;
  #keys: Float32Array[];
  #values: Float32Array[];

  constructor(layers: number, width: number, initialRows: number) {
    this.layers = layers;
    this.width = width;
    this.#capacity = Math.max(1, initialRows);
    this.#keys = Array.from({ length: layers }, () => new Float32Array(this.#capacity * width));
    this.#values = Array.from({ length: layers }, () => new Float32Array(this.#capacity * width));
  }

  /** Positions held so far. */
  get length(): number {
    return this.#length;
  }

  /** Bytes allocated (both halves, all layers). */
  get bytes(): number {
    return 2 * this.layers * this.#capacity * this.width * 4;
  }

  /** The filled prefix of every layer as graph inputs `k_cache_<l>` / `v_cache_<l>` (views, no copy). */
  feeds(into: Record<string, ort.Tensor>): void {
    const rows = this.#length * this.width;
    for (let l = 0; l < this.layers; l++) {
      into[`k_cache_${l}`] = new ort.Tensor('float32', this.#keys[l]!.subarray(0, rows), [this.#length, this.width]);
      into[`v_cache_${l}`] = new ort.Tensor('float32', this.#values[l]!.subarray(0, rows), [this.#length, this.width]);
    }
  }

  /** Appends `rows` new positions from k_new/v_new ([layers × rows × width], layer-major). */
  append(kNew: Float32Array, vNew: Float32Array, rows: number): void {
    const per = rows * this.width;
    if (kNew.length !== this.layers * per || vNew.length !== this.layers * per) {
      throw new Error(`t2s_decoder returned ${kNew.length} key floats for ${rows} rows × ${this.layers} layers × ${this.width}; run \`vocalis models check\``);
    }
    if (this.#length + rows > this.#capacity) this.#grow(this.#length + rows);
    const at = this.#length * this.width;
    for (let l = 0; l < this.layers; l++) {
      this.#keys[l]!.set(kNew.subarray(l * per, (l + 1) * per), at);
      this.#values[l]!.set(vNew.subarray(l * per, (l + 1) * per), at);
    }
    this.#length += rows;
  }

  #grow(needed: number): void {
    let capacity = this.#capacity;
    while (capacity < needed) capacity *= 2;
    const used = this.#length * this.width;
    const move = (old: Float32Array): Float32Array => {
      const next = new Float32Array(capacity * this.width);
      next.set(old.subarray(0, used));
      return next;
    };
    this.#keys = this.#keys.map(move);
    this.#values = this.#values.map(move);
    this.#capacity = capacity;
  }

  /** Drops the buffers (cancellation or the end of the segment). */
  clear(): void {
    this.#keys = [];
    this.#values = [];
    this.#length = 0;
    this.#capacity = 0;
  }
}

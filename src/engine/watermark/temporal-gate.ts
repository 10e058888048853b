/**
 * Keeps the mark out of the silence around words. The spectral shaping sets the
 * mark's level from a whole 32 ms frame; where the speech starts or stops inside
 * the frame, that level would otherwise spread into the quiet part — before an
 * onset (pre-echo, which the ear hears because backward masking lasts only a few
 * ms) or into the pause after a word. The gate follows the speech's temporal
 * masking in 2 ms blocks: a block is covered by its own energy, by what came
 * before it decaying with a 10 ms time constant (forward masking), and by the next
 * 4 ms at −10 and −20 dB (backward masking). The frame's mark is scaled, block by
 * block, by √(covered energy / the frame's average energy), never above 1.
 */
const BLOCK = 32;
/** Forward masking: the covering energy falls by 1/e every 10 ms (2 ms blocks at 16 kHz). */
const FORWARD_DECAY = Math.exp(-2 / 10);
/** Backward masking from the next two blocks (2 and 4 ms ahead). */
const BACKWARD = [0.1, 0.01] as const;

export class TemporalGate {
  readonly #blocks: number;
  readonly #energy: Float64Array;
  readonly #gain: Float64Array;
  /** Weight of each block in the frame's spectrum (the analysis window's power at its centre). */
  readonly #weight: Float64Array;
  readonly #weightSum: number;

  /** `window`: the analysis window the frame's spectrum was taken with. */
  constructor(window: Float64Array) {
    this.#blocks = window.length / BLOCK;
    this.#energy = new Float64Array(this.#blocks);
    this.#gain = new Float64Array(this.#blocks);
    this.#weight = new Float64Array(this.#blocks);
    for (let j = 0; j < this.#blocks; j++) {
      for (let i = j * BLOCK; i < (j + 1) * BLOCK; i++) this.#weight[j] = this.#weight[j]! + window[i]! ** 2;
    }
    this.#weightSum = this.#weight.reduce((a, b) => a + b, 0);
  }

  /** Multiplies `mark` (one frame, before the synthesis window) by the gate that `host` (the same frame of speech) allows. */
  apply(host: Float64Array, mark: Float64Array): void {
    const n = this.#blocks;
    const e = this.#energy;
    let level = 0;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = j * BLOCK; i < (j + 1) * BLOCK; i++) s += host[i]! * host[i]!;
      e[j] = s / BLOCK;
      level += this.#weight[j]! * e[j]!;
    }
    level /= this.#weightSum;
    const g = this.#gain;
    let forward = 0;
    for (let j = 0; j < n; j++) {
      forward = Math.max(e[j]!, forward * FORWARD_DECAY);
      let covered = forward;
      for (let a = 0; a < BACKWARD.length && j + a + 1 < n; a++) covered = Math.max(covered, BACKWARD[a]! * e[j + a + 1]!);
      g[j] = level > 0 ? Math.min(1, Math.sqrt(covered / level)) : 0;
    }
    // Linear between block centres, so the gate itself adds no clicks.
    for (let i = 0; i < mark.length; i++) {
      const x = (i + 0.5) / BLOCK - 0.5;
      const j = Math.max(0, Math.min(n - 1, Math.floor(x)));
      const t = Math.max(0, Math.min(1, x - j));
      const gain = j + 1 < n ? g[j]! * (1 - t) + g[j + 1]! * t : g[j]!;
      mark[i] = mark[i]! * gain;
    }
  }
}

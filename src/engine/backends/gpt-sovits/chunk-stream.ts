/**
 * Chunk-level streaming: vits runs on growing windows of semantic tokens with some tokens of
 * left context (overlap); the overlapped audio is dropped except for a short crossfade with the
 * tail held back from the previous chunk, so chunk joins are smooth (upstream's streaming modes
 * decode every ~16 tokens the same way).
 */
export class ChunkStitcher {
  readonly #fadeSamples: number;
  #tail = new Float32Array(0);

  constructor(fadeSamples: number) {
    this.#fadeSamples = fadeSamples;
  }

  /**
   * Takes the audio of one decode whose first `contextSamples` repeat audio already emitted
   * (minus the held tail); returns what can be played now. `last` flushes the tail.
   */
  push(audio: Float32Array, contextSamples: number, last: boolean): Float32Array {
    const fade = Math.min(this.#tail.length, contextSamples);
    const start = contextSamples - fade;
    const fresh = audio.subarray(contextSamples);
    const hold = last ? 0 : Math.min(this.#fadeSamples, fresh.length);
    const out = new Float32Array(fade + fresh.length - hold);
    for (let i = 0; i < fade; i++) {
      const w = (i + 0.5) / fade;
      out[i] = (this.#tail[this.#tail.length - fade + i] ?? 0) * (1 - w) + (audio[start + i] ?? 0) * w;
    }
    // Any part of the held tail that could not be crossfaded is emitted as it was.
    const unfaded = this.#tail.subarray(0, this.#tail.length - fade);
    out.set(fresh.subarray(0, fresh.length - hold), fade);
    this.#tail = Float32Array.from(fresh.subarray(fresh.length - hold));
    if (unfaded.length === 0) return out;
    const joined = new Float32Array(unfaded.length + out.length);
    joined.set(unfaded);
    joined.set(out, unfaded.length);
    return joined;
  }
}

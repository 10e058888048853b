/**
 * Upstream's token sampler (AR/models/utils.py `logits_to_probs` + `multinomial_sample_one_no_sync`
 * as `infer_panel_naive` calls it), run here instead of inside the graph so it can be seeded:
 * repetition penalty over every token so far (prompt included), top-p, temperature, top-k, then
 * argmax(probs / q) with q ~ Exp(1) — upstream's exponential trick, not the `randn_like` its
 * ONNX export uses (open upstream PR #835).
 */

export interface SamplerSettings {
  readonly topK: number;
  readonly topP: number;
  readonly temperature: number;
  readonly repetitionPenalty: number;
}

/** TTS.py's defaults (top_k 15, top_p 1, temperature 1, repetition penalty 1.35). */
export const UPSTREAM_SAMPLING: SamplerSettings = { topK: 15, topP: 1, temperature: 1, repetitionPenalty: 1.35 };

/** mulberry32: small, fast, seedable; one generator per request. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Probabilities over `logits[0..size)` as upstream's logits_to_probs computes them. `history` is
 * every token so far; `size` < logits.length drops trailing entries (EOS before 11 tokens).
 */
export function tokenProbabilities(logits: Float32Array, size: number, history: readonly number[], s: SamplerSettings): Float64Array {
  const l = Float64Array.from(logits.subarray(0, size));
  if (s.repetitionPenalty !== 1) {
    // Upstream gathers the original scores and scatters them back, so a repeated token is penalised once.
    for (const token of new Set(history)) {
      if (token >= size) continue;
      const v = logits[token] ?? 0;
      l[token] = v < 0 ? v * s.repetitionPenalty : v / s.repetitionPenalty;
    }
  }
  if (s.topP < 1) {
    const order = [...l.keys()].sort((a, b) => (l[b] ?? 0) - (l[a] ?? 0));
    const max = l[order[0] ?? 0] ?? 0;
    let total = 0;
    for (const i of order) total += Math.exp((l[i] ?? 0) - max);
    let cumulative = 0;
    order.forEach((i, rank) => {
      cumulative += Math.exp((l[i] ?? 0) - max) / total;
      if (rank > 0 && cumulative > s.topP) l[i] = -Infinity;
    });
  }
  const t = Math.max(s.temperature, 1e-5);
  for (let i = 0; i < size; i++) l[i] = (l[i] ?? 0) / t;
  if (s.topK > 0 && s.topK < size) {
    const pivot = [...l].sort((a, b) => b - a)[s.topK - 1] ?? -Infinity;
    for (let i = 0; i < size; i++) if ((l[i] ?? 0) < pivot) l[i] = -Infinity;
  }
  let max = -Infinity;
  for (let i = 0; i < size; i++) max = Math.max(max, l[i] ?? -Infinity);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const e = Math.exp((l[i] ?? -Infinity) - max);
    l[i] = e;
    sum += e;
  }
  for (let i = 0; i < size; i++) l[i] = (l[i] ?? 0) / sum;
  return l;
}

/** argmax(probs / q), q ~ Exp(1): a draw from `probs` (upstream's sync-free multinomial). */
export function drawToken(probs: Float64Array, random: () => number): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] ?? 0;
    if (p === 0) continue;
    const q = -Math.log(1 - random());
    const score = p / q;
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}

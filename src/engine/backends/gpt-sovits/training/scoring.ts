/**
 * How a checkpoint is scored: it speaks the held-out sentences, and each is compared with the
 * user's own reading of the same sentence — mel-cepstral distortion over a DTW path (dB), F0 RMSE
 * (cents) over frames voiced in both, and, when a speaker model is configured, cosine similarity
 * of speaker embeddings. Score (lower is better) = MCD + F0 cents / 100 + 5 × (1 − similarity).
 * The weights are a judgement call: 100 cents ≈ 1 dB MCD, and a similarity drop of 0.2 (a
 * different-sounding speaker) ≈ 1 dB. They have not been tuned on real GPT-SoVITS output.
 */
import { analyse } from '../../../features/analysis.ts';
import { SAMPLE_RATE as ANALYSIS_RATE } from '../../../features/constants.ts';
import { compareFeatures, cosineSimilarity } from '../../../features/metrics.ts';
import { resample } from '../../../audio/resampler.ts';
import type { PcmChunk } from '../../../pcm.ts';

export interface CheckpointScore {
  readonly score: number;
  readonly mcdDb: number;
  readonly f0RmseCents: number;
  readonly similarity: number | null;
}

export type SpeakerEmbedding = (samples16k: Float32Array) => Float64Array | Promise<Float64Array>;

function at16k(pcm: PcmChunk): Float32Array {
  return pcm.sampleRate === ANALYSIS_RATE ? pcm.samples : resample(pcm.samples, pcm.sampleRate, ANALYSIS_RATE);
}

const mean = (xs: readonly number[]): number => {
  const finite = xs.filter(Number.isFinite);
  return finite.length > 0 ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
};

export async function scorePairs(
  pairs: ReadonlyArray<{ readonly reference: PcmChunk; readonly synthesized: PcmChunk }>,
  embed: SpeakerEmbedding | null,
  signal: AbortSignal,
): Promise<CheckpointScore> {
  const mcd: number[] = [];
  const f0: number[] = [];
  const sims: number[] = [];
  for (const { reference, synthesized } of pairs) {
    signal.throwIfAborted();
    const ref = at16k(reference);
    const syn = at16k(synthesized);
    if (syn.length < ANALYSIS_RATE * 0.1) {
      mcd.push(NaN); // a checkpoint that says (almost) nothing cannot win
      continue;
    }
    const c = compareFeatures(analyse(ref, signal), analyse(syn, signal));
    mcd.push(c.mcdDb);
    f0.push(c.f0RmseCents);
    if (embed) sims.push(cosineSimilarity(await embed(ref), await embed(syn)));
  }
  const mcdDb = mcd.some((v) => Number.isNaN(v)) ? NaN : mean(mcd);
  const f0RmseCents = mean(f0);
  const similarity = embed ? mean(sims) : null;
  const score = mcdDb + (Number.isFinite(f0RmseCents) ? f0RmseCents / 100 : 0) + (similarity === null ? 0 : 5 * (1 - similarity));
  return { score, mcdDb, f0RmseCents, similarity };
}

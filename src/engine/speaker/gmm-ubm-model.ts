import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { PcmChunk } from '../pcm.ts';
import { componentLogLikelihoods, decodeGmm, logSumExp, scorerOf, type DiagonalGmm, type GmmScorer } from './diagonal-gmm.ts';
import { speakerFeatures, type SpeakerFeatures } from './mfcc.ts';
import { EnrolmentMismatchError, type SpeakerModel, type SpeakerModelInfo, type SpeakerScore } from './speaker-model.ts';

/** The background model trained by scripts/train-speaker-ubm.ts, committed with its attribution. */
export const DEFAULT_UBM_FILE = new URL('../../../models/speaker-ubm.gmm', import.meta.url);

/** How far MAP adaptation trusts the background model over the speaker's own frames (the usual 16). */
const RELEVANCE = 16;
/** Frames are scored on the background model's best components only: the rest add nothing but time. */
const TOP_COMPONENTS = 5;
const FRAME_SECONDS = 0.01;
const ENROLMENT_MAGIC = 0x45_4e_52_31; // "ENR1"

/**
 * Speaker verification by a Gaussian-mixture universal background model with MAP-adapted
 * means (Reynolds et al., 2000). The enrolment keeps the sufficient statistics (soft
 * counts and first moments per component), so every accepted clip can be folded in; the
 * score is the mean per-frame log-likelihood ratio of the adapted model over the UBM.
 */
export class GmmUbmSpeakerModel implements SpeakerModel {
  readonly info: SpeakerModelInfo;
  readonly #ubm: GmmScorer;
  readonly #versionTag: Uint8Array;

  constructor(ubm: DiagonalGmm, version: string) {
    this.#ubm = scorerOf(ubm);
    this.info = { name: `gmm-ubm-${ubm.components}x${ubm.dims}`, version };
    this.#versionTag = new TextEncoder().encode(version.padEnd(16, ' ').slice(0, 16));
  }

  static async load(file: URL | string = DEFAULT_UBM_FILE): Promise<GmmUbmSpeakerModel> {
    const bytes = await readFile(file);
    const version = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
    return new GmmUbmSpeakerModel(decodeGmm(bytes), version);
  }

  async enrol(pcm: PcmChunk, previous?: Uint8Array): Promise<Uint8Array> {
    const stats = previous ? this.#decodeEnrolment(previous) : this.#emptyStats();
    this.#accumulate(speakerFeatures(pcm), stats);
    return this.#encodeEnrolment(stats);
  }

  async score(enrolment: Uint8Array, pcm: PcmChunk): Promise<SpeakerScore> {
    return this.scoreFeatures(enrolment, speakerFeatures(pcm));
  }

  /** Scoring on features already computed (the benchmark reuses them). */
  scoreFeatures(enrolment: Uint8Array, features: SpeakerFeatures): SpeakerScore {
    const { gmm } = this.#ubm;
    const stats = this.#decodeEnrolment(enrolment);
    const adapted = this.#adaptedMeans(stats);
    const ubmLl = new Float64Array(gmm.components);
    const top = new Int32Array(TOP_COMPONENTS);
    const pickedUbm = new Float64Array(TOP_COMPONENTS);
    const pickedSpk = new Float64Array(TOP_COMPONENTS);
    let total = 0;
    for (let f = 0; f < features.frames; f++) {
      componentLogLikelihoods(this.#ubm, features.data, f * gmm.dims, ubmLl);
      topIndices(ubmLl, top);
      for (let i = 0; i < TOP_COMPONENTS; i++) {
        const c = top[i]!;
        pickedUbm[i] = ubmLl[c]!;
        pickedSpk[i] = componentLogLikelihood(this.#ubm, c, features.data, f * gmm.dims, adapted);
      }
      total += logSumExp(pickedSpk) - logSumExp(pickedUbm);
    }
    // The less speech the voiceprint holds, the less its means moved from the UBM and the smaller every
    // ratio: dividing by the squared mean adaptation puts a 10 s reading and a 60 s sample on one scale.
    const scale = this.#adaptation(stats) ** 2;
    return { score: features.frames === 0 ? -Infinity : total / features.frames / Math.max(scale, 1e-3), speechSeconds: features.frames * FRAME_SECONDS };
  }

  /** Enrolment from features already computed (the benchmark reuses them). */
  enrolFeatures(features: SpeakerFeatures): Uint8Array {
    const stats = this.#emptyStats();
    this.#accumulate(features, stats);
    return this.#encodeEnrolment(stats);
  }

  #emptyStats(): EnrolmentStats {
    const { components, dims } = this.#ubm.gmm;
    return { counts: new Float64Array(components), firstMoments: new Float64Array(components * dims) };
  }

  #accumulate(features: SpeakerFeatures, stats: EnrolmentStats): void {
    const { components, dims } = this.#ubm.gmm;
    const ll = new Float64Array(components);
    for (let f = 0; f < features.frames; f++) {
      componentLogLikelihoods(this.#ubm, features.data, f * dims, ll);
      const norm = logSumExp(ll);
      for (let c = 0; c < components; c++) {
        const post = Math.exp(ll[c]! - norm);
        if (post < 1e-5) continue;
        stats.counts[c] = stats.counts[c]! + post;
        for (let d = 0; d < dims; d++) stats.firstMoments[c * dims + d] = stats.firstMoments[c * dims + d]! + post * features.data[f * dims + d]!;
      }
    }
  }

  /** Mean MAP adaptation coefficient n/(n + r), weighted by the UBM's component weights (0: no speech, → 1: much). */
  #adaptation(stats: EnrolmentStats): number {
    const { components, weights } = this.#ubm.gmm;
    let sum = 0;
    for (let c = 0; c < components; c++) sum += weights[c]! * (stats.counts[c]! / (stats.counts[c]! + RELEVANCE));
    return sum;
  }

  #adaptedMeans(stats: EnrolmentStats): Float64Array {
    const { components, dims, means } = this.#ubm.gmm;
    const adapted = new Float64Array(components * dims);
    for (let c = 0; c < components; c++) {
      const n = stats.counts[c]!;
      const alpha = n / (n + RELEVANCE);
      for (let d = 0; d < dims; d++) {
        const own = n > 0 ? stats.firstMoments[c * dims + d]! / n : 0;
        adapted[c * dims + d] = alpha * own + (1 - alpha) * means[c * dims + d]!;
      }
    }
    return adapted;
  }

  #encodeEnrolment(stats: EnrolmentStats): Uint8Array {
    const { components, dims } = this.#ubm.gmm;
    const view = new DataView(new ArrayBuffer(4 + 16 + 8 + 4 * components * (1 + dims)));
    view.setUint32(0, ENROLMENT_MAGIC, true);
    new Uint8Array(view.buffer).set(this.#versionTag, 4);
    view.setUint32(20, components, true);
    view.setUint32(24, dims, true);
    let at = 28;
    for (const array of [stats.counts, stats.firstMoments]) {
      for (const value of array) {
        view.setFloat32(at, value, true);
        at += 4;
      }
    }
    return new Uint8Array(view.buffer);
  }

  #decodeEnrolment(bytes: Uint8Array): EnrolmentStats {
    const { components, dims } = this.#ubm.gmm;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const tag = bytes.subarray(4, 20);
    if (
      bytes.byteLength !== 28 + 4 * components * (1 + dims) ||
      view.getUint32(0, true) !== ENROLMENT_MAGIC ||
      !tag.every((b, i) => b === this.#versionTag[i])
    ) {
      throw new EnrolmentMismatchError('this enrolment was made by another speaker model');
    }
    const stats = this.#emptyStats();
    let at = 28;
    for (const array of [stats.counts, stats.firstMoments]) {
      for (let i = 0; i < array.length; i++, at += 4) array[i] = view.getFloat32(at, true);
    }
    return stats;
  }
}

interface EnrolmentStats {
  readonly counts: Float64Array;
  readonly firstMoments: Float64Array;
}

function componentLogLikelihood(scorer: GmmScorer, c: number, data: Float32Array, offset: number, means: Float64Array): number {
  const { dims } = scorer.gmm;
  let sum = 0;
  for (let d = 0; d < dims; d++) {
    const diff = data[offset + d]! - means[c * dims + d]!;
    sum += diff * diff * scorer.precisions[c * dims + d]!;
  }
  return scorer.logConst[c]! - 0.5 * sum;
}

/** Indices of the largest values, into `out` (small k: a simple insertion). */
function topIndices(values: Float64Array, out: Int32Array): void {
  const k = out.length;
  const best = new Float64Array(k).fill(-Infinity);
  out.fill(-1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v <= best[k - 1]!) continue;
    let j = k - 1;
    while (j > 0 && best[j - 1]! < v) {
      best[j] = best[j - 1]!;
      out[j] = out[j - 1]!;
      j--;
    }
    best[j] = v;
    out[j] = i;
  }
}

import { MCEP_ORDER } from '../../features/constants.ts';
import type { Features } from '../../features/analysis.ts';
import { convertWithGmm } from './convert-gmm.ts';
import { emStep, singleComponent, splitComponents, varianceFloor, type JointGmm } from './gmm.ts';
import { alignedMcdDb } from '../../features/metrics.ts';

/**
 * Training the joint GMM on parallel frames with a held-out validation set:
 * the validation MCD chooses the number of components and stops EM before
 * the model over-fits (an over-fitted mapping makes the clone sound erratic).
 */
export const DEFAULT_MIXTURES: readonly number[] = [1, 2, 4, 8, 16, 32];
const MAX_EM_ITERATIONS = 14;
const PATIENCE = 2;
/** Validation gains below this (dB) count as no gain: EM creeps on long after it matters. */
const MIN_GAIN_DB = 0.005;
/** At least this many training frames per component, or the size is not tried. */
const FRAMES_PER_COMPONENT = 120;

export interface SearchResult {
  readonly gmm: JointGmm;
  readonly mcd: number;
  readonly size: number;
  readonly tried: Record<string, number>;
}

/**
 * Grows the GMM by splitting through the candidate sizes, running EM at each
 * size until the validation MCD stops improving (early stopping), and keeps
 * the size and iteration with the lowest validation MCD.
 */
export async function searchMixtures(
  data: ParallelData,
  candidates: readonly number[],
  signal: AbortSignal,
  report: (fraction: number, detail: Readonly<Record<string, number>>) => void,
): Promise<SearchResult> {
  const { xs, ys, validation } = data;
  const floor = varianceFloor(xs, ys);
  const sizes = candidates.filter((m) => m === 1 || xs.length >= m * FRAMES_PER_COMPONENT);
  let current: JointGmm = singleComponent(xs, ys, floor);
  let best = { gmm: current, mcd: validation.mcd(current), size: 1 };
  const tried: Record<string, number> = {};
  for (let s = 0; s < sizes.length; s++) {
    const size = sizes[s]!;
    while (current.components.length < size) current = splitComponents(current);
    let sizeBest = { gmm: current, mcd: validation.mcd(current) };
    let stale = 0;
    // One component is already the maximum-likelihood fit: no EM needed.
    for (let iter = 0; size > 1 && iter < MAX_EM_ITERATIONS && stale < PATIENCE; iter++) {
      signal.throwIfAborted();
      current = emStep(current, xs, ys, floor).gmm;
      const mcd = validation.mcd(current);
      if (mcd < sizeBest.mcd) {
        stale = mcd < sizeBest.mcd - MIN_GAIN_DB ? 0 : stale + 1;
        sizeBest = { gmm: current, mcd };
      } else stale++;
      // Let abort signals and other jobs' events through between iterations.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    current = sizeBest.gmm;
    tried[`validationMcdDb_m${size}`] = sizeBest.mcd;
    if (sizeBest.mcd < best.mcd) best = { ...sizeBest, size };
    report((s + 1) / sizes.length, { mixtures: size, validationMcdDb: Number(sizeBest.mcd.toFixed(3)) });
  }
  return { ...best, tried };
}

/** Continues EM from a trained model on re-aligned pairs, with the same early stopping. */
export async function refineMixture(data: ParallelData, start: SearchResult, signal: AbortSignal): Promise<SearchResult> {
  const floor = varianceFloor(data.xs, data.ys);
  let current = start.gmm;
  let best = { gmm: current, mcd: data.validation.mcd(current) };
  let stale = 0;
  for (let iter = 0; iter < MAX_EM_ITERATIONS && stale < PATIENCE; iter++) {
    signal.throwIfAborted();
    current = emStep(current, data.xs, data.ys, floor).gmm;
    const mcd = data.validation.mcd(current);
    if (mcd < best.mcd) {
      stale = mcd < best.mcd - MIN_GAIN_DB ? 0 : stale + 1;
      best = { gmm: current, mcd };
    } else stale++;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { gmm: best.gmm, mcd: best.mcd, size: start.size, tried: start.tried };
}

/** Parallel frames split into training pairs and the held-out last ~10% of the reading. */
export class ParallelData {
  readonly xs: Float64Array[];
  readonly ys: Float64Array[];
  readonly validPairs: ReadonlyArray<readonly [number, number]>;
  readonly validation: Validation;

  constructor(base: Features, user: Features, baseDeltas: Float64Array[], userDeltas: Float64Array[], pairs: ReadonlyArray<readonly [number, number]>) {
    const firstBase = pairs[0]![0];
    const lastBase = pairs[pairs.length - 1]![0];
    const cut = Math.round(firstBase + 0.9 * (lastBase - firstBase));
    const train = pairs.filter(([i]) => i < cut);
    this.validPairs = pairs.filter(([i]) => i >= cut);
    this.xs = train.map(([i]) => baseDeltas[i]!);
    this.ys = train.map(([, j]) => userDeltas[j]!);
    this.validation = new Validation(base, user, baseDeltas, this.validPairs, cut);
  }
}

/** Converts the held-out base-voice frames and measures MCD against the user's aligned frames. */
export class Validation {
  readonly #base: Features;
  readonly #user: Features;
  readonly #pairs: ReadonlyArray<readonly [number, number]>;
  readonly #source: Float64Array[];
  readonly #start: number;

  constructor(base: Features, user: Features, baseDeltas: Float64Array[], pairs: ReadonlyArray<readonly [number, number]>, start: number) {
    this.#base = base;
    this.#user = user;
    this.#pairs = pairs;
    this.#start = start;
    this.#source = baseDeltas.slice(start);
  }

  mcd(gmm: JointGmm): number {
    const converted = convertWithGmm(gmm, this.#source);
    const aligned = this.#pairs.map(([i, j]): readonly [Float64Array, Float64Array] => {
      const c = new Float64Array(MCEP_ORDER + 1);
      c.set(converted[i - this.#start]!, 1);
      return [c, this.#user.mcep[j]!];
    });
    return alignedMcdDb(aligned);
  }

  unconvertedMcd(): number {
    return alignedMcdDb(this.#pairs.map(([i, j]) => [this.#base.mcep[i]!, this.#user.mcep[j]!] as const));
  }
}

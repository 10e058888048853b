import { speechMask, type Features } from './analysis.ts';
import { alignSequences } from './dtw.ts';

/**
 * Aligns the user's reading with the base voice's rendering of the same text,
 * on speech frames only (pauses differ freely between the two), using c1..c12
 * after per-speaker mean removal: the low cepstra follow phonetic content more
 * than voice, so they align across speakers better than the full vector. DTW
 * runs at 10 ms for speed; the path is expanded back to 5 ms frames.
 */
export interface ScriptAlignment {
  /** Frame index pairs [base, user] into the original feature sequences. */
  readonly pairs: ReadonlyArray<readonly [number, number]>;
  /**
   * Mean path distance over that of aligning the user with the base rendering
   * played backwards: well under 1 when the user read the script, about 1 when
   * they said something else (the reversed rendering is a null model with the
   * same sounds in a meaningless order, so the score needs no per-voice tuning).
   */
  readonly matchScore: number;
}

const ALIGN_END_DIM = 13;

export function alignScript(base: Features, user: Features, signal?: AbortSignal): ScriptAlignment {
  const baseIdx = speechIndices(base);
  const userIdx = speechIndices(user);
  const a2 = meanRemoved(baseIdx.map((i) => base.mcep[i]!)).filter((_, i) => i % 2 === 0);
  const b2 = meanRemoved(userIdx.map((i) => user.mcep[i]!)).filter((_, i) => i % 2 === 0);
  const options = { firstDim: 1, endDim: ALIGN_END_DIM, band: 0.25, signal };
  const forward = alignSequences(a2, b2, options);
  const reversed = alignSequences([...a2].reverse(), b2, options);
  const pairs: Array<readonly [number, number]> = [];
  for (const [i, j] of dropStalls(forward.pairs)) {
    pairs.push([baseIdx[2 * i]!, userIdx[2 * j]!]);
    if (2 * i + 1 < baseIdx.length && 2 * j + 1 < userIdx.length) pairs.push([baseIdx[2 * i + 1]!, userIdx[2 * j + 1]!]);
  }
  return { pairs, matchScore: forward.meanDistance / reversed.meanDistance };
}

function speechIndices(f: Features): number[] {
  const mask = speechMask(f.mcep);
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
}

function meanRemoved(frames: readonly Float64Array[]): Float64Array[] {
  const dims = frames[0]?.length ?? 0;
  const mean = new Float64Array(dims);
  for (const f of frames) for (let d = 0; d < dims; d++) mean[d] = mean[d]! + f[d]! / frames.length;
  return frames.map((f) => f.map((v, d) => v - mean[d]!));
}

/** Longest run (10 ms steps) one frame may be held against the other sequence. */
const MAX_STALL = 4;

/**
 * Removes stretches where the path holds one frame while the other sequence
 * moves on for long: words the user skipped or added, or the end of a script
 * they did not finish. Such pairs match unrelated sounds and would teach the
 * mapping nonsense.
 */
export function dropStalls(path: ReadonlyArray<readonly [number, number]>): Array<readonly [number, number]> {
  const keep = new Uint8Array(path.length).fill(1);
  for (const axis of [0, 1] as const) {
    let start = 0;
    for (let k = 1; k <= path.length; k++) {
      if (k < path.length && path[k]![axis] === path[start]![axis]) continue;
      if (k - start > MAX_STALL) keep.fill(0, start, k);
      start = k;
    }
  }
  return path.filter((_, k) => keep[k] === 1);
}

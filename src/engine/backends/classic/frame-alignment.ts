import { speechMask, type Features } from '../../features/analysis.ts';
import { MCEP_ORDER } from '../../features/constants.ts';
import { alignOpenEnd } from '../../features/dtw.ts';

/**
 * Finds the user's reading of the script at the start of their sample (which
 * may hold more speech after it: the intake wants a minute, the script is
 * shorter) by open-end DTW against the base voice's rendering, on speech
 * frames only (pauses differ freely), after per-speaker mean removal of the
 * mel-cepstra so the alignment follows phonetic content more than voice.
 */
export interface ScriptAlignment {
  /** Frame index pairs [base, user] into the original feature sequences. */
  readonly pairs: ReadonlyArray<readonly [number, number]>;
  /**
   * Path cost over the cost of aligning the user with the base rendering cut
   * into 0.3 s pieces put in reverse order (the same sounds and local dynamics
   * in a meaningless order). About 0.73-0.91 when the user read the script,
   * 0.97-1.0 when they said something else; no per-voice tuning needed.
   */
  readonly matchScore: number;
}

/** Pairs come from c1..c12 at 10 ms. */
const PAIR_END_DIM = 13;
/** The score uses c1..c8 of five neighbouring frames at 20 ms: context makes chance matches rarer. */
const SCORE_DIMS = 8;
const SCORE_CONTEXT = 2;
const NULL_PIECE_FRAMES = 15;

export function alignScript(base: Features, user: Features, signal?: AbortSignal): ScriptAlignment {
  const baseIdx = speechIndices(base);
  const userIdx = speechIndices(user);
  const a = meanRemoved(baseIdx.map((i) => base.mcep[i]!));
  const b = meanRemoved(userIdx.map((i) => user.mcep[i]!));

  const a4 = stacked(everyNth(a, 4));
  const b4 = stacked(everyNth(b, 4));
  const scoreOptions = { firstDim: 0, endDim: a4[0]?.length ?? 0, signal };
  const forwardScore = alignOpenEnd(a4, b4, scoreOptions).meanDistance;
  const nullScore = alignOpenEnd(piecesReversed(a4, NULL_PIECE_FRAMES), b4, scoreOptions).meanDistance;

  const path = alignOpenEnd(everyNth(a, 2), everyNth(b, 2), { firstDim: 1, endDim: PAIR_END_DIM, signal });
  const pairs: Array<readonly [number, number]> = [];
  for (const [i, j] of dropStalls(path.pairs)) {
    pairs.push([baseIdx[2 * i]!, userIdx[2 * j]!]);
    if (2 * i + 1 < baseIdx.length && 2 * j + 1 < userIdx.length) pairs.push([baseIdx[2 * i + 1]!, userIdx[2 * j + 1]!]);
  }
  return { pairs, matchScore: forwardScore / nullScore };
}

function speechIndices(f: Features): number[] {
  const mask = speechMask(f.mcep);
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
}

function everyNth<T>(items: readonly T[], n: number): T[] {
  return items.filter((_, i) => i % n === 0);
}

function meanRemoved(frames: readonly Float64Array[]): Float64Array[] {
  const dims = frames[0]?.length ?? 0;
  const mean = new Float64Array(dims);
  for (const f of frames) for (let d = 0; d < dims; d++) mean[d] = mean[d]! + f[d]! / frames.length;
  return frames.map((f) => f.map((v, d) => v - mean[d]!));
}

/** c1..c8 of frames t-2..t+2 side by side. */
function stacked(frames: readonly Float64Array[]): Float64Array[] {
  const last = frames.length - 1;
  return frames.map((_, t) => {
    const v = new Float64Array((2 * SCORE_CONTEXT + 1) * SCORE_DIMS);
    for (let k = -SCORE_CONTEXT; k <= SCORE_CONTEXT; k++) {
      const f = frames[Math.min(last, Math.max(0, t + k))]!;
      for (let d = 0; d < SCORE_DIMS; d++) v[(k + SCORE_CONTEXT) * SCORE_DIMS + d] = f[d + 1]!;
    }
    return v;
  });
}

function piecesReversed<T>(frames: readonly T[], size: number): T[] {
  const pieces: T[][] = [];
  for (let i = 0; i < frames.length; i += size) pieces.push(frames.slice(i, i + size));
  return pieces.reverse().flat();
}

/** Longest run (10 ms steps) one frame may be held against the other sequence. */
const MAX_STALL = 4;

/**
 * Removes stretches where the path holds one frame while the other sequence
 * moves on for long: words the user skipped or added, or speech after the
 * script. Such pairs match unrelated sounds and would teach the mapping nonsense.
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

/**
 * Second-pass alignment: the converted base voice (c1..c24), which now sounds
 * like the user, against the user's own c1..c24, on speech frames.
 */
export function realign(base: Features, user: Features, converted: Float64Array[], signal: AbortSignal): Array<readonly [number, number]> {
  const baseIdx = speechIndices(base);
  const userIdx = speechIndices(user);
  const a = baseIdx.filter((_, k) => k % 2 === 0).map((i) => converted[i]!);
  const b = userIdx.filter((_, k) => k % 2 === 0).map((j) => user.mcep[j]!.subarray(1));
  const coarse = alignOpenEnd(a, b, { firstDim: 0, endDim: MCEP_ORDER, signal });
  const pairs: Array<readonly [number, number]> = [];
  for (const [i, j] of dropStalls(coarse.pairs)) {
    pairs.push([baseIdx[2 * i]!, userIdx[2 * j]!]);
    if (2 * i + 1 < baseIdx.length && 2 * j + 1 < userIdx.length) pairs.push([baseIdx[2 * i + 1]!, userIdx[2 * j + 1]!]);
  }
  return pairs;
}

/**
 * The user's speaking rate relative to the base voice: speech frames of the
 * user within the aligned stretch (not the whole sample, which may hold more
 * than the script) over the base voice's speech frames for the same text.
 */
export function alignedDurationRatio(base: Features, user: Features, pairs: ReadonlyArray<readonly [number, number]>): number {
  const first = pairs[0];
  const last = pairs[pairs.length - 1];
  if (!first || !last) return 1;
  const count = (mask: Uint8Array, from: number, to: number): number => {
    let n = 0;
    for (let i = from; i <= to; i++) n += mask[i]!;
    return n;
  };
  const baseFrames = count(speechMask(base.mcep), first[0], last[0]);
  const userFrames = count(speechMask(user.mcep), first[1], last[1]);
  return baseFrames > 0 ? userFrames / baseFrames : 1;
}

import { speechMask, type Features } from './analysis.ts';
import { alignOpenEnd } from './dtw.ts';

/**
 * Finds the user's reading of the script at the start of their sample (which
 * may hold more speech after it) by open-end DTW against the base voice's
 * rendering, on speech frames only (pauses differ freely), using c1..c12
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
  const a2 = withContext(meanRemoved(baseIdx.map((i) => base.mcep[i]!)).filter((_, i) => i % 2 === 0));
  const b2 = withContext(meanRemoved(userIdx.map((i) => user.mcep[i]!)).filter((_, i) => i % 2 === 0));
  const options = { firstDim: 0, endDim: a2[0]?.length ?? 0, signal };
  const forward = alignOpenEnd(a2, b2, options);
  const reversed = alignOpenEnd(chunkReversed(a2), b2, options);
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

const MODE = process.env['ALIGN_MODE'] ?? 'plain';
function withContext(frames: Float64Array[]): Float64Array[] {
  const last = frames.length - 1;
  return frames.map((_, t) => {
    if (MODE === 'plain') return frames[t]!.slice(1, ALIGN_END_DIM);
    if (MODE === 'delta') {
      const v = new Float64Array(24);
      const p = frames[Math.max(0, t - 1)]!; const n = frames[Math.min(last, t + 1)]!; const c = frames[t]!;
      for (let d = 0; d < 12; d++) { v[d] = c[d + 1]!; v[12 + d] = (n[d + 1]! - p[d + 1]!); }
      return v;
    }
    const v = new Float64Array(40);
    for (let k = -2; k <= 2; k++) { const f = frames[Math.min(last, Math.max(0, t + k))]!; for (let d = 0; d < 8; d++) v[(k + 2) * 8 + d] = f[d + 1]!; }
    return v;
  });
}

const CHUNK = Number(process.env['ALIGN_CHUNK'] ?? 1);
function chunkReversed(frames: Float64Array[]): Float64Array[] {
  const chunks: Float64Array[][] = [];
  for (let i = 0; i < frames.length; i += CHUNK) chunks.push(frames.slice(i, i + CHUNK));
  return chunks.reverse().flat();
}

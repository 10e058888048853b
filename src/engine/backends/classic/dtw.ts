/**
 * Dynamic time warping between two feature sequences (Euclidean distance over
 * a range of dimensions), inside a Sakoe-Chiba band around the scaled diagonal
 * so 60 s of speech aligns in well under a second and in little memory.
 */
export interface Alignment {
  /** Index pairs [a, b] from the start to the end of both sequences. */
  readonly pairs: ReadonlyArray<readonly [number, number]>;
  /** Mean local distance along the path. */
  readonly meanDistance: number;
}

export interface DtwOptions {
  readonly firstDim: number;
  readonly endDim: number;
  /** Band half-width as a fraction of the longer sequence. */
  readonly band?: number;
  readonly signal?: AbortSignal;
}

export function frameDistance(a: Float64Array, b: Float64Array, firstDim: number, endDim: number): number {
  let s = 0;
  for (let d = firstDim; d < endDim; d++) {
    const diff = a[d]! - b[d]!;
    s += diff * diff;
  }
  return Math.sqrt(s);
}

export function alignSequences(a: readonly Float64Array[], b: readonly Float64Array[], options: DtwOptions): Alignment {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return { pairs: [], meanDistance: Infinity };
  const half = Math.max(Math.ceil((options.band ?? 0.2) * Math.max(n, m)), Math.abs(n - m) + 8);
  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  const offsets = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const centre = n === 1 ? 0 : Math.round((i * (m - 1)) / (n - 1));
    lo[i] = Math.max(0, centre - half);
    hi[i] = Math.min(m - 1, centre + half);
    offsets[i + 1] = offsets[i]! + (hi[i]! - lo[i]! + 1);
  }
  // 0 = diagonal, 1 = from (i-1, j), 2 = from (i, j-1)
  const moves = new Uint8Array(offsets[n]!);
  let prev = new Float64Array(m).fill(Infinity);
  let cur = new Float64Array(m).fill(Infinity);
  for (let i = 0; i < n; i++) {
    if ((i & 255) === 0) options.signal?.throwIfAborted();
    cur.fill(Infinity);
    const base = offsets[i]!;
    for (let j = lo[i]!; j <= hi[i]!; j++) {
      const d = frameDistance(a[i]!, b[j]!, options.firstDim, options.endDim);
      if (i === 0 && j === 0) {
        cur[j] = d;
        continue;
      }
      let best = Infinity;
      let move = 0;
      if (i > 0 && j > 0 && prev[j - 1]! < best) {
        best = prev[j - 1]!;
        move = 0;
      }
      if (i > 0 && prev[j]! < best) {
        best = prev[j]!;
        move = 1;
      }
      if (j > 0 && cur[j - 1]! < best) {
        best = cur[j - 1]!;
        move = 2;
      }
      cur[j] = best + d;
      moves[base + j - lo[i]!] = move;
    }
    const t = prev;
    prev = cur;
    cur = t;
  }
  const total = prev[m - 1]!;
  const pairs: Array<readonly [number, number]> = [];
  let i = n - 1;
  let j = m - 1;
  while (true) {
    pairs.push([i, j]);
    if (i === 0 && j === 0) break;
    const move = moves[offsets[i]! + j - lo[i]!]!;
    if (move === 0) {
      i--;
      j--;
    } else if (move === 1) i--;
    else j--;
  }
  pairs.reverse();
  return { pairs, meanDistance: total / pairs.length };
}

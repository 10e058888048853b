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

/**
 * Open-end DTW: both sequences start together, `a` is covered to its last
 * frame, and the path may end anywhere in `b`. Used to find the base voice's
 * rendering of the script in the user's sample, which usually holds more than
 * the script (the intake wants a minute of speech; the script is shorter).
 * Diagonal steps weigh 2 and the others 1, so every path to a cell (i, j) has
 * the same total weight i + j + 2: the dynamic programme compares like with
 * like, and the end is chosen by cost per unit weight. No band: `b` may be much
 * longer or shorter than `a` (one byte of memory per cell).
 */
export function alignOpenEnd(a: readonly Float64Array[], b: readonly Float64Array[], options: DtwOptions): Alignment {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return { pairs: [], meanDistance: Infinity };
  // 0 = diagonal, 1 = from (i-1, j), 2 = from (i, j-1)
  const moves = new Uint8Array(n * m);
  let prev = new Float64Array(m);
  let cur = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    if ((i & 127) === 0) options.signal?.throwIfAborted();
    const row = i * m;
    const ai = a[i]!;
    for (let j = 0; j < m; j++) {
      const d = frameDistance(ai, b[j]!, options.firstDim, options.endDim);
      if (i === 0) {
        cur[j] = j === 0 ? 2 * d : cur[j - 1]! + d;
        moves[row + j] = 2;
        continue;
      }
      let best = prev[j]! + d;
      let move = 1;
      if (j > 0) {
        const diagonal = prev[j - 1]! + 2 * d;
        if (diagonal < best) {
          best = diagonal;
          move = 0;
        }
        const left = cur[j - 1]! + d;
        if (left < best) {
          best = left;
          move = 2;
        }
      }
      cur[j] = best;
      moves[row + j] = move;
    }
    const t = prev;
    prev = cur;
    cur = t;
  }
  let end = 0;
  let bestNorm = Infinity;
  for (let j = 0; j < m; j++) {
    const norm = prev[j]! / (n + j + 1);
    if (norm < bestNorm) {
      bestNorm = norm;
      end = j;
    }
  }
  const pairs: Array<readonly [number, number]> = [];
  let i = n - 1;
  let j = end;
  while (true) {
    pairs.push([i, j]);
    if (i === 0 && j === 0) break;
    const move = moves[i * m + j]!;
    if (move === 0) {
      i--;
      j--;
    } else if (move === 1) i--;
    else j--;
  }
  pairs.reverse();
  // Cost per unit of weight: a diagonal step counts once, a held frame half.
  return { pairs, meanDistance: bestNorm };
}

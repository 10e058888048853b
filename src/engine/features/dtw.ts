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
 * Every step costs the local distance (so diagonal paths are preferred, as in
 * alignSequences); the end is chosen by mean distance along the path. The
 * slope is kept between 1/2.5 and 2.5 (plus slack) around the start, which
 * bounds the work and rules out absurd tempo changes.
 */
export function alignOpenEnd(a: readonly Float64Array[], b: readonly Float64Array[], options: DtwOptions): Alignment {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return { pairs: [], meanDistance: Infinity };
  const slack = 50;
  const lo = (i: number): number => Math.max(0, Math.floor(i / 2.5) - slack);
  const hi = (i: number): number => Math.min(m - 1, Math.ceil(i * 2.5) + slack);
  // 0 = diagonal, 1 = from (i-1, j), 2 = from (i, j-1)
  const moves = new Uint8Array(n * m);
  let prev = new Float64Array(m).fill(Infinity);
  let cur = new Float64Array(m).fill(Infinity);
  let prevLen = new Int32Array(m);
  let curLen = new Int32Array(m);
  for (let i = 0; i < n; i++) {
    if ((i & 127) === 0) options.signal?.throwIfAborted();
    const row = i * m;
    const ai = a[i]!;
    const jLo = lo(i);
    const jHi = hi(i);
    cur.fill(Infinity);
    for (let j = jLo; j <= jHi; j++) {
      const d = frameDistance(ai, b[j]!, options.firstDim, options.endDim);
      if (i === 0 && j === 0) {
        cur[0] = d;
        curLen[0] = 1;
        continue;
      }
      let best = Infinity;
      let move = 0;
      let len = 0;
      if (i > 0 && j > 0 && prev[j - 1]! < best) {
        best = prev[j - 1]!;
        len = prevLen[j - 1]!;
      }
      if (i > 0 && prev[j]! < best) {
        best = prev[j]!;
        move = 1;
        len = prevLen[j]!;
      }
      if (j > 0 && cur[j - 1]! < best) {
        best = cur[j - 1]!;
        move = 2;
        len = curLen[j - 1]!;
      }
      cur[j] = best + d;
      curLen[j] = len + 1;
      moves[row + j] = move;
    }
    const t = prev;
    prev = cur;
    cur = t;
    const tl = prevLen;
    prevLen = curLen;
    curLen = tl;
  }
  let end = -1;
  let bestMean = Infinity;
  for (let j = lo(n - 1); j <= hi(n - 1); j++) {
    const mean = prev[j]! / prevLen[j]!;
    if (mean < bestMean) {
      bestMean = mean;
      end = j;
    }
  }
  if (end < 0) return { pairs: [], meanDistance: Infinity };
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
  return { pairs, meanDistance: bestMean };
}

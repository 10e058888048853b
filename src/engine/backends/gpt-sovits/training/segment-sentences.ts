/**
 * Which script sentences each audio segment holds. There is no ASR in this project, so the
 * alignment is proportional: segments (cut at pauses) and sentences are both in reading order,
 * and a monotonic partition is chosen so each segment's share of the speech time matches its
 * sentences' share of the characters as closely as possible (dynamic programming, squared error).
 * A segment may receive no sentence (a false start, a cough); it is then dropped. It assumes the
 * user read the script in order and did not skip sentences; a held-out score that is far off is
 * the visible symptom when that assumption fails.
 */

export interface AlignedSegment {
  /** Index into the segments given. */
  readonly segment: number;
  /** Indices of the sentences it holds, consecutive. */
  readonly sentences: readonly number[];
}

/** Characters that take speaking time: letters, digits and CJK; not spaces or punctuation. */
export function spokenLength(text: string): number {
  return Array.from(text.matchAll(/[\p{L}\p{N}]/gu)).length;
}

/** Cost of a segment holding no sentence, on top of its squared share: discourages dropping. */
const EMPTY_PENALTY = 0.02;

export function alignSentences(segmentSeconds: readonly number[], sentences: readonly string[]): AlignedSegment[] {
  const n = segmentSeconds.length;
  const m = sentences.length;
  if (n === 0 || m === 0) return [];
  const totalSeconds = segmentSeconds.reduce((a, b) => a + b, 0);
  const chars = sentences.map((s) => Math.max(1, spokenLength(s)));
  const prefix = [0];
  for (const c of chars) prefix.push(prefix[prefix.length - 1]! + c);
  const totalChars = prefix[m]!;
  // cost[i][j]: best partition of the first i segments over the first j sentences.
  const cost: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(Infinity));
  const from: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(-1));
  cost[0]![0] = 0;
  for (let i = 1; i <= n; i++) {
    const share = segmentSeconds[i - 1]! / totalSeconds;
    for (let j = 0; j <= m; j++) {
      for (let k = 0; k <= j; k++) {
        const prev = cost[i - 1]![k]!;
        if (prev === Infinity) continue;
        const textShare = (prefix[j]! - prefix[k]!) / totalChars;
        const c = prev + (share - textShare) ** 2 + (k === j ? EMPTY_PENALTY : 0);
        if (c < cost[i]![j]!) {
          cost[i]![j] = c;
          from[i]![j] = k;
        }
      }
    }
  }
  const out: AlignedSegment[] = [];
  let j = m;
  for (let i = n; i >= 1; i--) {
    const k = from[i]![j]!;
    if (k < j) out.push({ segment: i - 1, sentences: Array.from({ length: j - k }, (_, x) => k + x) });
    j = k;
  }
  return out.reverse();
}

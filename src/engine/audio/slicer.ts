import type { PcmChunk } from '../pcm.ts';
import { framePowers, toDb } from './levels.ts';

/**
 * Cuts a sample into training segments at pauses, GPT-SoVITS style: 10 ms
 * frames below `thresholdDb` form silences; a silence of at least `minGapMs`
 * is a cut point; segments are grown to at most `maxSeconds` and those under
 * `minSeconds` are merged into a neighbour or dropped. A run of speech longer
 * than `maxSeconds` with no pause is cut at its quietest frame.
 */
export interface SliceOptions {
  readonly thresholdDb?: number;
  readonly minGapMs?: number;
  readonly minSeconds?: number;
  readonly maxSeconds?: number;
  /** Silence kept at each edge of a segment. */
  readonly keepSilenceMs?: number;
}

export interface Slice {
  readonly start: number; // seconds
  readonly end: number;
  readonly pcm: PcmChunk;
}

const HOP_SECONDS = 0.01;

export function sliceAtPauses(pcm: PcmChunk, options: SliceOptions = {}): Slice[] {
  const threshold = options.thresholdDb ?? -34;
  const minGap = Math.round((options.minGapMs ?? 300) / 10);
  const minLen = options.minSeconds ?? 2;
  const maxLen = options.maxSeconds ?? 10;
  const keep = Math.round((options.keepSilenceMs ?? 150) / 10);
  const hop = Math.max(1, Math.round(pcm.sampleRate * HOP_SECONDS));
  const powers = framePowers(pcm.samples, hop);
  const frames = powers.length;
  const silent = (f: number): boolean => toDb(powers[f] ?? 0) < threshold;

  // Speech regions [start, end) in frames, separated by silences ≥ minGap.
  const regions: Array<[number, number]> = [];
  let f = 0;
  while (f < frames) {
    while (f < frames && silent(f)) f++;
    if (f >= frames) break;
    const start = f;
    let end = f;
    let quiet = 0;
    while (f < frames) {
      if (silent(f)) quiet++;
      else {
        quiet = 0;
        end = f + 1;
      }
      f++;
      if (quiet >= minGap) break;
    }
    regions.push([start, end]);
  }

  // Split regions longer than maxLen at their quietest frame (away from the edges).
  const maxFrames = Math.round(maxLen / HOP_SECONDS);
  const minFrames = Math.round(minLen / HOP_SECONDS);
  const pieces: Array<[number, number]> = [];
  const split = (start: number, end: number): void => {
    if (end - start <= maxFrames) {
      pieces.push([start, end]);
      return;
    }
    let cut = start + Math.floor((end - start) / 2);
    let quietest = Number.POSITIVE_INFINITY;
    for (let k = start + minFrames; k < Math.min(end - minFrames, start + maxFrames); k++) {
      if ((powers[k] ?? 0) < quietest) {
        quietest = powers[k] ?? 0;
        cut = k;
      }
    }
    pieces.push([start, cut]);
    split(cut, end);
  };
  for (const [s, e] of regions) split(s, e);

  // Greedy merge: join neighbours while the result (with the pause between) fits maxLen.
  const merged: Array<[number, number]> = [];
  for (const piece of pieces) {
    const last = merged[merged.length - 1];
    if (last && (last[1] - last[0] < minFrames || piece[1] - piece[0] < minFrames) && piece[1] - last[0] <= maxFrames) {
      last[1] = piece[1];
    } else merged.push([piece[0], piece[1]]);
  }

  const slices: Slice[] = [];
  for (const [s, e] of merged) {
    if (e - s < minFrames) continue;
    const from = Math.max(0, s - keep) * hop;
    const to = Math.min(frames, e + keep) * hop;
    slices.push({
      start: from / pcm.sampleRate,
      end: to / pcm.sampleRate,
      pcm: { samples: pcm.samples.slice(from, to), sampleRate: pcm.sampleRate },
    });
  }
  return slices;
}

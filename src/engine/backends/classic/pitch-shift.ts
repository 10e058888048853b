import { FRAME_SHIFT, SAMPLE_RATE } from '../../features/constants.ts';

/**
 * Pitch modification of the base voice's own waveform by TD-PSOLA
 * (pitch-synchronous overlap-add): two-period pieces around each pitch mark
 * are re-spaced at the target period, so the converted pitch contour (pitch
 * GMM, variability) is carried without resynthesising the excitation. The
 * duration is kept; unvoiced stretches pass through unchanged. Modest shifts
 * (the nearest base voice is chosen by pitch) keep the synthesiser's clarity.
 */

interface PitchMark {
  readonly position: number;
  readonly voiced: boolean;
}

/** F0 of the 5 ms frame nearest to a sample position. */
function f0At(track: Float64Array, position: number): number {
  return track[Math.min(track.length - 1, Math.max(0, Math.round(position / FRAME_SHIFT)))] ?? 0;
}

/**
 * One mark per period in voiced stretches, every frame shift in unvoiced ones.
 * A voiced stretch starts at its largest |sample| within the first period;
 * each next mark is one period on, at the lag (0.8–1.25 periods) where the
 * waveform best repeats the previous cycle (normalised cross-correlation), so
 * the marks sit on the same point of every cycle. Marks that drift between
 * cycle phases (as picking the largest peak near each predicted position did)
 * make the re-spaced pulses jitter, which the recogniser hears.
 */
function pitchMarks(pcm: Float32Array, f0: Float64Array): PitchMark[] {
  const marks: PitchMark[] = [];
  let position = 0;
  while (position < pcm.length) {
    const f = f0At(f0, position);
    if (!(f > 0)) {
      marks.push({ position: Math.round(position), voiced: false });
      position += FRAME_SHIFT;
      continue;
    }
    const period = SAMPLE_RATE / f;
    const previous = marks.at(-1);
    const next = previous?.voiced ? followingCycle(pcm, previous.position, period) : largestWithin(pcm, Math.round(position), Math.round(position + period));
    if (next >= pcm.length) break;
    marks.push({ position: next, voiced: true });
    position = next + period;
  }
  return marks;
}

function largestWithin(pcm: Float32Array, from: number, to: number): number {
  let best = Math.min(pcm.length - 1, from);
  for (let i = from; i < Math.min(to, pcm.length); i++) if (Math.abs(pcm[i]!) > Math.abs(pcm[best]!)) best = i;
  return best;
}

/** The position one cycle after `mark` where the waveform best matches the cycle around `mark`. */
function followingCycle(pcm: Float32Array, mark: number, period: number): number {
  const half = Math.round(period / 2);
  const shortest = Math.round(0.8 * period);
  const longest = Math.round(1.25 * period);
  if (mark + longest + half >= pcm.length || mark - half < 0) return Math.round(mark + period);
  let bestLag = Math.round(period);
  let bestScore = -Infinity;
  for (let lag = shortest; lag <= longest; lag++) {
    let dot = 0;
    let energy = 0;
    for (let j = -half; j < half; j++) {
      const a = pcm[mark + j]!;
      const b = pcm[mark + lag + j]!;
      dot += a * b;
      energy += b * b;
    }
    const score = dot / Math.sqrt(energy + 1e-12);
    if (score > bestScore) {
      bestScore = score;
      bestLag = lag;
    }
  }
  return mark + bestLag;
}

/** A half window spans 1 ms to 25 ms (beyond the longest period, 60 Hz). */
function clampWindow(samples: number): number {
  return Math.max(16, Math.min(400, samples));
}

/** `pcm` with its pitch (`f0`, per 5 ms frame, 0 = unvoiced) moved to `targetF0`; voicing follows `f0`. */
export function shiftPitch(pcm: Float32Array, f0: Float64Array, targetF0: Float64Array): Float32Array {
  const length = pcm.length;
  const marks = pitchMarks(pcm, f0);
  if (marks.length === 0) return Float32Array.from(pcm);
  const out = new Float64Array(length);
  const coverage = new Float64Array(length);
  let k = 0;
  let at = marks[0]!.position;
  while (at < length) {
    while (k + 1 < marks.length && Math.abs(marks[k + 1]!.position - at) <= Math.abs(marks[k]!.position - at)) k++;
    const mark = marks[k]!;
    // Half-window lengths are the distances to the neighbouring marks (raised-
    // cosine halves that sum to 1 where the spacing is unchanged).
    const left = clampWindow(k > 0 ? mark.position - marks[k - 1]!.position : FRAME_SHIFT);
    const right = clampWindow(k + 1 < marks.length ? marks[k + 1]!.position - mark.position : FRAME_SHIFT);
    const centre = Math.round(at);
    for (let j = -left; j < right; j++) {
      const source = mark.position + j;
      const target = centre + j;
      if (source < 0 || source >= length || target < 0 || target >= length) continue;
      const w = 0.5 + 0.5 * Math.cos((Math.PI * j) / (j < 0 ? left : right));
      out[target] = out[target]! + w * pcm[source]!;
      coverage[target] = coverage[target]! + w;
    }
    // The next piece goes the local mark spacing scaled by the pitch ratio
    // later: with the ratio 1 the output is the input, piece for piece.
    const wantedF0 = f0At(targetF0, mark.position);
    const sourceF0 = f0At(f0, mark.position);
    const voiced = mark.voiced && wantedF0 > 0 && sourceF0 > 0;
    at += voiced ? (right * sourceF0) / wantedF0 : mark.voiced ? Math.max(FRAME_SHIFT, right) : FRAME_SHIFT;
  }
  // Raising the pitch overlaps more pieces (coverage above 1), lowering it
  // fewer: a gain of 1/sqrt(local coverage) keeps the level about the same.
  const prefix = new Float64Array(length + 1);
  for (let i = 0; i < length; i++) prefix[i + 1] = prefix[i]! + coverage[i]!;
  const span = 2 * FRAME_SHIFT;
  const result = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const a = Math.max(0, i - span);
    const b = Math.min(length, i + span);
    const mean = (prefix[b]! - prefix[a]!) / (b - a);
    result[i] = out[i]! / Math.sqrt(Math.max(0.5, mean));
  }
  return result;
}

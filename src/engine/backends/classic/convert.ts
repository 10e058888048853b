import { speechMask, type Features } from '../../features/analysis.ts';
import { MCEP_ORDER } from '../../features/constants.ts';
import { convertWithGmm } from './convert-gmm.ts';
import { withDeltas } from './deltas.ts';
import type { JointComponent, JointGmm } from './gmm.ts';
import type { ClassicModel } from './model.ts';
import { convertPitch, pitchGmm, varyPitch } from './pitch.ts';
import { convertByStats, convertF0, type VoiceStats } from './stats.ts';

/**
 * How a clause is turned into the user's voice: `differential` (the default)
 * pitch-shifts the base voice's own waveform and filters it by the spectral
 * difference (convert-clause.ts), which keeps it as intelligible as the base
 * voice; `vocoder` resynthesises it from the converted features, which moves
 * further towards the user but smears speech sounds (see
 * docs/backends/classic.md, *Intelligibility*).
 */
export type Rendering = 'differential' | 'vocoder';

/** The trained mapping in the form conversion needs (typed arrays, not JSON). */
export interface Conversion {
  readonly rendering: Rendering;
  readonly source: VoiceStats;
  readonly target: VoiceStats;
  readonly gmm: JointGmm | null;
  /** Frame-level pitch mapping (pitch.ts); null = log F0 by mean and variance. */
  readonly pitch: JointGmm | null;
}

export function conversionOf(model: ClassicModel, rendering: Rendering = 'differential'): Conversion {
  const gmm = model.gmm
    ? {
        components: model.gmm.components.map(
          (c): JointComponent => ({
            weight: c.weight,
            mx: Float64Array.from(c.mx),
            my: Float64Array.from(c.my),
            sxx: Float64Array.from(c.sxx),
            sxy: Float64Array.from(c.sxy),
            syy: Float64Array.from(c.syy),
          }),
        ),
      }
    : null;
  return { rendering, source: model.source, target: model.target, gmm, pitch: model.pitch ? pitchGmm(model.pitch) : null };
}

/**
 * Base-voice features -> the user's: spectrum by the GMM (c1..c24, with MLPG)
 * or by statistics; log F0 by the pitch GMM where the model has one, else by
 * mean and variance, then varied by `variability` (pitch.ts); c0 (level) by
 * variance around the base voice's mean; aperiodicity is the base voice's.
 */
export function convertFeatures(features: Features, conversion: Conversion, variability = 0, seed = 1): Features {
  const mapped = conversion.pitch ? convertPitch(features.f0, conversion.pitch) : convertF0(features.f0, conversion.source, conversion.target);
  const f0 = varyPitch(mapped, variability, seed);
  // The level keeps the base voice's average (the user's is mostly their
  // microphone gain) but takes the user's dynamics (spread of c0).
  const levelTarget: VoiceStats = {
    ...conversion.target,
    mcepMean: [conversion.source.mcepMean[0]!, ...conversion.target.mcepMean.slice(1)],
  };
  if (!conversion.gmm) {
    return { f0, aperiodicity: features.aperiodicity, mcep: convertByStats(features.mcep, conversion.source, levelTarget, 0, MCEP_ORDER + 1) };
  }
  const levels = convertByStats(features.mcep, conversion.source, levelTarget, 0, 1);
  const converted = convertWithGmm(conversion.gmm, withDeltas(features.mcep, 1, MCEP_ORDER + 1));
  restoreVariance(converted, speechMask(features.mcep), conversion.target);
  const mcep = levels.map((c, t) => {
    const out = new Float64Array(MCEP_ORDER + 1);
    out[0] = c[0]!;
    out.set(converted[t]!, 1);
    return out;
  });
  return { f0, aperiodicity: features.aperiodicity, mcep };
}

/**
 * GMM conversion averages over components and frames, so converted spectra
 * vary less than real speech and sound muffled. This moves each dimension's
 * spread over the clause's speech frames part of the way (half, in log
 * variance) towards the user's own spread: a light global-variance postfilter
 * that trades a little MCD for clarity.
 */
const VARIANCE_WEIGHT = 0.5;

function restoreVariance(converted: Float64Array[], mask: Uint8Array, target: VoiceStats): void {
  const dims = converted[0]?.length ?? 0;
  let count = 0;
  for (let t = 0; t < mask.length; t++) count += mask[t]!;
  if (count < 20 || VARIANCE_WEIGHT <= 0) return;
  for (let d = 0; d < dims; d++) {
    let mean = 0;
    for (let t = 0; t < converted.length; t++) if (mask[t]) mean += converted[t]![d]!;
    mean /= count;
    let variance = 0;
    for (let t = 0; t < converted.length; t++) if (mask[t]) variance += (converted[t]![d]! - mean) ** 2;
    const std = Math.sqrt(variance / count);
    const wanted = target.mcepStd[d + 1]!;
    if (std <= 0 || !(wanted > 0)) continue;
    const factor = Math.min(1.5, Math.max(1, (wanted / std) ** VARIANCE_WEIGHT));
    for (let t = 0; t < converted.length; t++) converted[t]![d] = mean + factor * (converted[t]![d]! - mean);
  }
}

/**
 * Share of the frame-level (GMM) spectral change in the differential filter;
 * the rest is the long-term difference of mean spectra. The GMM's conditional
 * means shrink phonetic contrasts (more so when trained on a recogniser's
 * transcript), and at full weight the converted speech was recognised far
 * worse than the base voice (LibriSpeech: WER +20–40 points); at one half it
 * keeps the base voice's WER and most of the likeness (docs/backends/classic.md).
 */
export const GMM_WEIGHT = 0.5;

/**
 * Per-frame mel-cepstral difference that filters the base voice's waveform
 * (differential-filter.ts): converted minus original, with c1..c24 of a GMM
 * conversion blended with the mean difference by GMM_WEIGHT. c0 carries the
 * level mapping; a statistics conversion gives its own difference unblended.
 */
export function spectralDifference(original: readonly Float64Array[], converted: readonly Float64Array[], conversion: Conversion): Float64Array[] {
  const { source, target } = conversion;
  const gmmWeight = conversion.gmm ? GMM_WEIGHT : 1;
  return original.map((x, t) => {
    const y = converted[t]!;
    const difference = new Float64Array(x.length);
    difference[0] = y[0]! - x[0]!;
    for (let d = 1; d < x.length; d++) {
      difference[d] = gmmWeight * (y[d]! - x[d]!) + (1 - gmmWeight) * (target.mcepMean[d]! - source.mcepMean[d]!);
    }
    return difference;
  });
}

import { speechMask, type Features } from '../../features/analysis.ts';
import { MCEP_ORDER } from '../../features/constants.ts';
import { convertWithGmm } from './convert-gmm.ts';
import { withDeltas } from './deltas.ts';
import type { JointComponent, JointGmm } from './gmm.ts';
import type { ClassicModel } from './model.ts';
import { convertPitch, pitchGmm, varyPitch } from './pitch.ts';
import { convertByStats, convertF0, type VoiceStats } from './stats.ts';

/** The trained mapping in the form conversion needs (typed arrays, not JSON). */
export interface Conversion {
  readonly source: VoiceStats;
  readonly target: VoiceStats;
  readonly gmm: JointGmm | null;
  /** Frame-level pitch mapping (pitch.ts); null = log F0 by mean and variance. */
  readonly pitch: JointGmm | null;
}

export function conversionOf(model: ClassicModel): Conversion {
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
  return { source: model.source, target: model.target, gmm, pitch: model.pitch ? pitchGmm(model.pitch) : null };
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

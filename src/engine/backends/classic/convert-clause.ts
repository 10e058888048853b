import { analyse } from '../../features/analysis.ts';
import { convertFeatures, spectralDifference, type Conversion } from './convert.ts';
import { filterBySpectralDifference } from './differential-filter.ts';
import { shiftPitch } from './pitch-shift.ts';
import { synthesise } from './synthesis.ts';

/**
 * One rendered base-voice clause in the user's voice; the same work in a pool
 * worker and on the calling thread. Both renderings analyse the clause and
 * convert its features (pitch with `variability`, spectrum, level); the
 * differential one then changes the base voice's own waveform (pitch by
 * TD-PSOLA, spectrum by the converted-minus-original filter), the vocoder one
 * resynthesises it from the converted features.
 */
export function convertClause(pcm: Float32Array, conversion: Conversion, seed: number, variability = 0, signal?: AbortSignal): Float32Array {
  const features = analyse(pcm, signal);
  const converted = convertFeatures(features, conversion, variability, seed);
  signal?.throwIfAborted();
  if (conversion.rendering === 'vocoder') return synthesise(converted, seed);
  const pitched = shiftPitch(pcm, features.f0, converted.f0);
  return filterBySpectralDifference(pitched, spectralDifference(features.mcep, converted.mcep, conversion));
}

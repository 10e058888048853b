/**
 * Interleaved multichannel → mono. A plain average halves the level when one
 * channel is silent (a phone recording "stereo" with one dead mic), which then
 * reads as "too quiet"; so channels more than 40 dB below the loudest are left
 * out of the average on purpose.
 */
export interface DownmixResult {
  readonly samples: Float32Array;
  /** Channels left out because they were (near) silent. */
  readonly silentChannels: number;
}

const SILENT_CHANNEL_RATIO = 0.01; // −40 dB in amplitude

export function downmixInterleaved(interleaved: Float32Array, channels: number): DownmixResult {
  if (channels <= 1) return { samples: interleaved, silentChannels: 0 };
  const frames = Math.floor(interleaved.length / channels);
  const energy = new Float64Array(channels);
  for (let f = 0; f < frames; f++) {
    const base = f * channels;
    for (let c = 0; c < channels; c++) {
      const v = interleaved[base + c] ?? 0;
      energy[c] = (energy[c] ?? 0) + v * v;
    }
  }
  let loudest = 0;
  for (const e of energy) loudest = Math.max(loudest, e);
  const active: number[] = [];
  for (let c = 0; c < channels; c++) {
    if ((energy[c] ?? 0) > loudest * SILENT_CHANNEL_RATIO * SILENT_CHANNEL_RATIO || loudest === 0) active.push(c);
  }
  const out = new Float32Array(frames);
  const scale = 1 / active.length;
  for (let f = 0; f < frames; f++) {
    const base = f * channels;
    let sum = 0;
    for (const c of active) sum += interleaved[base + c] ?? 0;
    out[f] = sum * scale;
  }
  return { samples: out, silentChannels: channels - active.length };
}

/** Replaces NaN with 0 and clamps ±Inf / overs to ±1, in place; returns how many were non-finite. */
export function sanitizeSamples(samples: Float32Array): number {
  let nonFinite = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i] ?? 0;
    if (Number.isNaN(v)) {
      samples[i] = 0;
      nonFinite++;
    } else if (v > 1 || v < -1) {
      if (!Number.isFinite(v)) nonFinite++;
      samples[i] = v > 0 ? 1 : -1;
    }
  }
  return nonFinite;
}

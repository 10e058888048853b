import { realFftOfSize } from '../dsp/real-fft.ts';
import { BAND_FIRST_BIN, BAND_LAST_BIN, FRAME, HOP, sqrtHann } from './mark-layout.ts';

/**
 * The detector's front end: keeps only the mark band and divides every STFT bin
 * by the received audio's own (smoothed) magnitude. Speech, music and channel
 * colouring (phone filters, codecs, volume) flatten out; a shaped mark turns
 * back into the plain carrier. Frames far below the loud part of the recording
 * (pauses, codec hiss) are faded out, since the mark is absent there.
 */
const QUIET_BELOW = 0.03;

export function whiten(samples: Float32Array): Float32Array {
  const fft = realFftOfSize(FRAME);
  const w = sqrtHann(FRAME);
  const frames = Math.max(0, Math.ceil((samples.length + HOP) / HOP));
  const re = new Float64Array(FRAME / 2 + 1);
  const im = new Float64Array(FRAME / 2 + 1);
  const buf = new Float64Array(FRAME);
  const levels = new Float64Array(frames);
  const spectra: Array<{ re: Float64Array; im: Float64Array }> = [];
  for (let f = 0; f < frames; f++) {
    const start = f * HOP - HOP;
    for (let i = 0; i < FRAME; i++) buf[i] = (samples[start + i] ?? 0) * w[i]!;
    fft.forward(buf, re, im);
    const bandRe = new Float64Array(BAND_LAST_BIN - BAND_FIRST_BIN + 3);
    const bandIm = new Float64Array(bandRe.length);
    let power = 0;
    for (let k = 0; k < bandRe.length; k++) {
      bandRe[k] = re[BAND_FIRST_BIN - 1 + k]!;
      bandIm[k] = im[BAND_FIRST_BIN - 1 + k]!;
      power += bandRe[k]! ** 2 + bandIm[k]! ** 2;
    }
    levels[f] = Math.sqrt(power / bandRe.length);
    spectra.push({ re: bandRe, im: bandIm });
  }
  const loud = percentile(levels, 0.9);
  const out = new Float32Array(samples.length);
  if (loud <= 0) return out;
  for (let f = 0; f < frames; f++) {
    const { re: bRe, im: bIm } = spectra[f]!;
    const level = levels[f]!;
    const fade = Math.min(1, (level / (QUIET_BELOW * loud)) ** 2);
    re.fill(0);
    im.fill(0);
    if (fade > 1e-4) {
      for (let k = BAND_FIRST_BIN; k <= BAND_LAST_BIN; k++) {
        const j = k - BAND_FIRST_BIN + 1;
        const p = (bRe[j - 1]! ** 2 + bIm[j - 1]! ** 2 + bRe[j]! ** 2 + bIm[j]! ** 2 + bRe[j + 1]! ** 2 + bIm[j + 1]! ** 2) / 3;
        const scale = fade / (Math.sqrt(p) + 1e-9 * loud + 1e-12);
        re[k] = bRe[j]! * scale;
        im[k] = bIm[j]! * scale;
      }
    }
    fft.inverse(re, im, buf);
    const start = f * HOP - HOP;
    for (let i = 0; i < FRAME; i++) {
      const n = start + i;
      if (n >= 0 && n < out.length) out[n] = out[n]! + buf[i]! * w[i]!;
    }
  }
  return out;
}

function percentile(values: Float64Array, q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

import { F0_CEIL, F0_FLOOR, FRAME_SHIFT, SAMPLE_RATE } from './constants.ts';

/**
 * F0 per 5 ms frame with a YIN-style cumulative-mean-normalised difference
 * function, computed on a 2x decimated signal: YIN's accuracy is plenty for
 * conversion, and the 8 kHz copy makes it four times cheaper.
 */
export interface F0Track {
  /** Hz per frame; 0 for unvoiced frames. */
  readonly f0: Float64Array;
  /** YIN's normalised difference at the chosen lag (0 = perfectly periodic, ~1 = noise). */
  readonly aperiodicity: Float64Array;
}

const DECIMATED_RATE = SAMPLE_RATE / 2;
const WINDOW = 200; // 25 ms at 8 kHz
const THRESHOLD = 0.15;
const VOICING_LIMIT = 0.45;

export function frameCount(sampleCount: number): number {
  return Math.floor(sampleCount / FRAME_SHIFT) + 1;
}

/** Half-band low-pass (windowed sinc, 31 taps) then keep every other sample. */
function decimate(x: Float32Array): Float64Array {
  const taps = 31;
  const h = new Float64Array(taps);
  const mid = (taps - 1) / 2;
  let sum = 0;
  for (let i = 0; i < taps; i++) {
    const t = i - mid;
    const sinc = t === 0 ? 1 : Math.sin(Math.PI * 0.45 * t) / (Math.PI * 0.45 * t);
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (taps - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (taps - 1));
    h[i] = sinc * w;
    sum += h[i]!;
  }
  for (let i = 0; i < taps; i++) h[i] = h[i]! / sum;
  const out = new Float64Array(Math.ceil(x.length / 2));
  for (let o = 0; o < out.length; o++) {
    const c = o * 2;
    let acc = 0;
    for (let k = 0; k < taps; k++) {
      const idx = c + k - mid;
      if (idx >= 0 && idx < x.length) acc += h[k]! * x[idx]!;
    }
    out[o] = acc;
  }
  return out;
}

export function estimateF0(samples: Float32Array): F0Track {
  const n = frameCount(samples.length);
  const f0 = new Float64Array(n);
  const ap = new Float64Array(n).fill(1);
  const x = decimate(samples);
  const tauMin = Math.floor(DECIMATED_RATE / F0_CEIL);
  const tauMax = Math.ceil(DECIMATED_RATE / F0_FLOOR);
  const d = new Float64Array(tauMax + 2);
  const energy = new Float64Array(n);
  let maxEnergy = 0;
  for (let i = 0; i < n; i++) {
    const start = Math.round((i * FRAME_SHIFT) / 2) - WINDOW / 2;
    let e = 0;
    for (let j = 0; j < WINDOW; j++) {
      const idx = start + j;
      const v = idx >= 0 && idx < x.length ? x[idx]! : 0;
      e += v * v;
    }
    energy[i] = e;
    if (e > maxEnergy) maxEnergy = e;
  }
  const silence = maxEnergy * 1e-4; // 40 dB below the loudest frame
  // The difference function slides from frame to frame: drop the 40 samples that
  // leave the window, add the 40 that enter (2.5x less work than recomputing),
  // with a full recomputation every 64 frames so rounding cannot drift.
  const step = FRAME_SHIFT / 2;
  const raw = new Float64Array(tauMax + 2);
  let previousStart = Number.NaN;
  for (let i = 0; i < n; i++) {
    const start = Math.round((i * FRAME_SHIFT) / 2) - Math.floor((WINDOW + tauMax) / 2);
    if (start < 0 || start + WINDOW + tauMax + 1 >= x.length) {
      previousStart = Number.NaN;
      continue;
    }
    if (start - previousStart === step && i % 64 !== 0) {
      const old = start - step;
      for (let tau = 1; tau <= tauMax + 1; tau++) {
        let acc = raw[tau]!;
        for (let j = 0; j < step; j++) {
          const out = x[old + j]! - x[old + j + tau]!;
          const inn = x[old + WINDOW + j]! - x[old + WINDOW + j + tau]!;
          acc += inn * inn - out * out;
        }
        raw[tau] = acc;
      }
    } else {
      for (let tau = 1; tau <= tauMax + 1; tau++) {
        let acc = 0;
        for (let j = 0; j < WINDOW; j++) {
          const diff = x[start + j]! - x[start + j + tau]!;
          acc += diff * diff;
        }
        raw[tau] = acc;
      }
    }
    previousStart = start;
    if (energy[i]! <= silence || energy[i]! === 0) continue;
    for (let tau = 1; tau <= tauMax + 1; tau++) d[tau] = Math.max(0, raw[tau]!);
    // Cumulative mean normalisation, in place.
    let running = 0;
    for (let tau = 1; tau <= tauMax + 1; tau++) {
      running += d[tau]!;
      d[tau] = running > 0 ? (d[tau]! * tau) / running : 1;
    }
    let best = -1;
    for (let tau = tauMin; tau <= tauMax; tau++) {
      if (d[tau]! < THRESHOLD) {
        while (tau + 1 <= tauMax && d[tau + 1]! < d[tau]!) tau++;
        best = tau;
        break;
      }
    }
    if (best < 0) {
      let minVal = Infinity;
      for (let tau = tauMin; tau <= tauMax; tau++) {
        if (d[tau]! < minVal) {
          minVal = d[tau]!;
          best = tau;
        }
      }
    }
    const dm = d[best]!;
    if (dm > VOICING_LIMIT) {
      ap[i] = Math.min(1, dm);
      continue;
    }
    // Parabolic interpolation around the minimum for sub-sample lag.
    const a = d[best - 1] ?? dm;
    const c = d[best + 1] ?? dm;
    const denom = a - 2 * dm + c;
    const shift = denom > 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / denom)) : 0;
    f0[i] = DECIMATED_RATE / (best + shift);
    ap[i] = Math.max(0.001, dm);
  }
  cleanTrack(f0, ap);
  return { f0, aperiodicity: ap };
}

/** Drops voiced islands shorter than 20 ms and median-smooths isolated octave jumps. */
function cleanTrack(f0: Float64Array, ap: Float64Array): void {
  const n = f0.length;
  let i = 0;
  while (i < n) {
    if (f0[i] === 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && f0[j]! > 0) j++;
    if (j - i < 4) {
      for (let k = i; k < j; k++) {
        f0[k] = 0;
        ap[k] = 1;
      }
    }
    i = j;
  }
  const copy = Float64Array.from(f0);
  for (let k = 2; k < n - 2; k++) {
    if (copy[k] === 0) continue;
    const window = [copy[k - 2]!, copy[k - 1]!, copy[k]!, copy[k + 1]!, copy[k + 2]!].filter((v) => v > 0).sort((p, q) => p - q);
    const median = window[Math.floor(window.length / 2)]!;
    const ratio = copy[k]! / median;
    if (ratio > 1.6 || ratio < 0.625) f0[k] = median;
  }
}

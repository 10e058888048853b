/**
 * Simultaneous masking of one STFT frame, per critical band: how much noise each
 * band of the ear can hide under the sound that is there.
 *
 * The power spectrum is summed into 1-Bark critical bands, and each band's power is
 * split into a tonal part and a noise-like part. Tonal is the larger of the power
 * in tonal peaks (local maxima 7 dB above the bins 2–3 away, the test of MPEG-1
 * psychoacoustic model 1) and the band's spectral flatness mapped from noise
 * (−2.5 dB: 0) to clearly peaked (−7.5 dB: 1): the flatness catches low voices,
 * whose harmonics are too close for the peak test. Then, as `variant`:
 *
 * - `'mpeg1'` — ISO/IEC 11172-3 psychoacoustic model 1, at critical-band resolution:
 *   every band's tonal and noise-like parts are maskers at the band's centre, each
 *   with model 1's masking index (tonal −1.525 − 0.275·z − 4.5 dB, noise
 *   −1.525 − 0.175·z − 0.5 dB) and its level-dependent spreading function vf (−3 to
 *   +8 Bark); the maskers add in power. The band's whole noise must stay under
 *   the threshold so found (model 1's subband test), not each bin. The embedder follows this.
 * - `'johnston'` — Johnston (1988): the band energies spread with Schroeder's function
 *   (renormalised), the threshold 14.5 + z dB under them where tonal and 5.5 dB where
 *   noise-like. Much stricter under tonal maskers (the worst case of transparent
 *   coding); the bench reports it beside model 1.
 *
 * The threshold in quiet (Terhardt's formula) is kept apart (`quietPower`), at a
 * playback level where a full-scale sine is 96 dB SPL (model 1's convention).
 */

export type MaskingVariant = 'mpeg1' | 'johnston';

/** A full-scale sine's level, in dB SPL, when the audio is played back. */
export const FULL_SCALE_DB_SPL = 96;
/** Tonal peak: this many times (7 dB) the power of the bins 2–3 (or more, higher up) away. */
const TONAL_PEAK_RATIO = 10 ** 0.7;
/** Spectral flatness (dB) of a band of plain noise, and how far below it a band counts as fully tonal. */
const NOISE_FLATNESS_DB = -2.5;
const TONAL_FLATNESS_SPAN_DB = 5;
/** Flatness is measured over at least this many bins around the band (the lowest bands have 3). */
const FLATNESS_MIN_BINS = 7;

export function bark(hz: number): number {
  return 13 * Math.atan(0.00076 * hz) + 3.5 * Math.atan((hz / 7500) ** 2);
}

/** Threshold in quiet of a tone at `hz`, in dB SPL (Terhardt). */
export function thresholdInQuietDb(hz: number): number {
  const f = Math.max(hz, 20) / 1000;
  return 3.64 * f ** -0.8 - 6.5 * Math.exp(-0.6 * (f - 3.3) ** 2) + 1e-3 * f ** 4;
}

/** Schroeder's spreading function in dB, `dz` Bark from masker to maskee (positive: maskee above). */
function schroederDb(dz: number): number {
  return 15.81 + 7.5 * (dz + 0.474) - 17.5 * Math.sqrt(1 + (dz + 0.474) ** 2);
}

/** Model 1's spreading function vf in dB for a masker at `level` dB SPL; −Infinity outside −3..8 Bark. */
function model1SpreadingDb(dz: number, level: number): number {
  if (dz < -3 || dz >= 8) return -Infinity;
  if (dz < -1) return 17 * (dz + 1) - (0.4 * level + 6);
  if (dz < 0) return (0.4 * level + 6) * dz;
  if (dz < 1) return -17 * dz;
  return -(dz - 1) * (17 - 0.15 * level) - 17;
}

export class MaskingModel {
  /** Number of critical bands (1 Bark each, the last one partial). */
  readonly bands: number;
  /** First and last bin of each band. */
  readonly firstBin: Int32Array;
  readonly lastBin: Int32Array;
  /** The threshold in quiet of each band as a noise power (its quietest bin's): noise below it is inaudible. */
  readonly quietPower: Float64Array;
  readonly #variant: MaskingVariant;
  readonly #bandOfBin: Int32Array;
  readonly #barkOfBand: Float64Array;
  /** Schroeder spreading, spread[i * bands + j]: from band j into band i, renormalised so a flat spectrum spreads to itself. */
  readonly #spread: Float64Array;
  readonly #energy: Float64Array;
  readonly #tonal: Float64Array;
  readonly #bins: number;
  readonly #sampleRate: number;
  /** Bin power of a full-scale sine: the 96 dB SPL reference. */
  readonly #fullScale: number;

  /**
   * `frameSize`-point frames at `sampleRate`, taken with a window whose samples sum to
   * `windowSum` (that fixes which bin power a full-scale sine has, for levels in dB SPL).
   */
  constructor(frameSize: number, sampleRate: number, windowSum: number, variant: MaskingVariant = 'mpeg1') {
    this.#variant = variant;
    this.#bins = frameSize / 2 + 1;
    this.#sampleRate = sampleRate;
    this.#bandOfBin = new Int32Array(this.#bins);
    for (let k = 0; k < this.#bins; k++) this.#bandOfBin[k] = Math.floor(bark((k * sampleRate) / frameSize));
    this.bands = this.#bandOfBin[this.#bins - 1]! + 1;
    this.firstBin = new Int32Array(this.bands).fill(-1);
    this.lastBin = new Int32Array(this.bands);
    for (let k = 0; k < this.#bins; k++) {
      const b = this.#bandOfBin[k]!;
      if (this.firstBin[b] === -1) this.firstBin[b] = k;
      this.lastBin[b] = k;
    }
    this.#barkOfBand = new Float64Array(this.bands);
    this.quietPower = new Float64Array(this.bands);
    this.#fullScale = (windowSum / 2) ** 2;
    for (let b = 0; b < this.bands; b++) {
      const lo = this.firstBin[b]!;
      const hi = this.lastBin[b]!;
      this.#barkOfBand[b] = bark((((lo + hi) / 2) * sampleRate) / frameSize);
      let quietest = Infinity;
      for (let k = lo; k <= hi; k++) quietest = Math.min(quietest, thresholdInQuietDb((k * sampleRate) / frameSize));
      this.quietPower[b] = this.#power(quietest);
    }
    this.#spread = new Float64Array(this.bands * this.bands);
    for (let i = 0; i < this.bands; i++) {
      let sum = 0;
      for (let j = 0; j < this.bands; j++) {
        const s = 10 ** (schroederDb(this.#barkOfBand[i]! - this.#barkOfBand[j]!) / 10);
        this.#spread[i * this.bands + j] = s;
        sum += s;
      }
      for (let j = 0; j < this.bands; j++) this.#spread[i * this.bands + j] = this.#spread[i * this.bands + j]! / sum;
    }
    this.#energy = new Float64Array(this.bands);
    this.#tonal = new Float64Array(this.bands);
  }

  bandOfBin(bin: number): number {
    return this.#bandOfBin[bin]!;
  }

  /**
   * From the bin powers |X_k|² of one windowed frame, writes into `threshold` the
   * noise power each band can hide (simultaneous masking only; the threshold in
   * quiet is `quietPower`, kept apart so a caller can treat silence as it needs).
   */
  maskedThreshold(power: Float64Array, threshold: Float64Array): void {
    this.#split(power);
    if (this.#variant === 'mpeg1') this.#model1(threshold);
    else this.#johnston(threshold);
  }

  /** Band energies and their tonal parts. */
  #split(power: Float64Array): void {
    const energy = this.#energy.fill(0);
    const tonal = this.#tonal.fill(0);
    const bins = this.#bins;
    for (let k = 0; k < bins; k++) {
      const b = this.#bandOfBin[k]!;
      energy[b] = energy[b]! + power[k]!;
    }
    for (let k = 3; k < bins - 3; k++) {
      const p = power[k]!;
      if (!(p > power[k - 1]! && p >= power[k + 1]!)) continue;
      const reach = (k * this.#sampleRate) / (2 * (bins - 1)) < 4000 ? 3 : Math.min(5, bins - 1 - k);
      let peak = true;
      for (let j = 2; j <= reach && peak; j++) {
        if (!(p > TONAL_PEAK_RATIO * power[k - j]! && p > TONAL_PEAK_RATIO * power[k + j]!)) peak = false;
      }
      const b = this.#bandOfBin[k]!;
      if (peak) tonal[b] = tonal[b]! + power[k - 1]! + p + power[k + 1]!;
    }
    for (let b = 0; b < this.bands; b++) {
      const alpha = Math.max(0, Math.min(1, (NOISE_FLATNESS_DB - this.#flatnessDb(power, b)) / TONAL_FLATNESS_SPAN_DB));
      tonal[b] = Math.min(energy[b]!, Math.max(tonal[b]!, alpha * energy[b]!));
    }
  }

  #model1(threshold: Float64Array): void {
    threshold.fill(0);
    for (let j = 0; j < this.bands; j++) {
      const z = this.#barkOfBand[j]!;
      const parts = [
        { power: this.#tonal[j]!, index: -1.525 - 0.275 * z - 4.5 },
        { power: this.#energy[j]! - this.#tonal[j]!, index: -1.525 - 0.175 * z - 0.5 },
      ];
      for (const { power, index } of parts) {
        if (!(power > this.quietPower[j]!)) continue;
        const level = this.#levelDb(power);
        for (let i = 0; i < this.bands; i++) {
          const spread = model1SpreadingDb(this.#barkOfBand[i]! - z, level);
          if (spread === -Infinity) continue;
          threshold[i] = threshold[i]! + this.#power(level + index + spread);
        }
      }
    }
  }

  #johnston(threshold: Float64Array): void {
    for (let i = 0; i < this.bands; i++) {
      let spread = 0;
      let tonalSpread = 0;
      for (let j = 0; j < this.bands; j++) {
        const s = this.#spread[i * this.bands + j]!;
        spread += s * this.#energy[j]!;
        tonalSpread += s * this.#tonal[j]!;
      }
      const alpha = spread > 0 ? tonalSpread / spread : 0;
      const offsetDb = alpha * (14.5 + this.#barkOfBand[i]!) + (1 - alpha) * 5.5;
      threshold[i] = spread * 10 ** (-offsetDb / 10);
    }
  }

  /** Geometric over arithmetic mean of the band's bin powers, in dB (0: flat; noise about −2.5). */
  #flatnessDb(power: Float64Array, band: number): number {
    let lo = this.firstBin[band]!;
    let hi = this.lastBin[band]!;
    while (hi - lo + 1 < FLATNESS_MIN_BINS) {
      if (lo > 1) lo--;
      if (hi - lo + 1 < FLATNESS_MIN_BINS && hi < this.#bins - 2) hi++;
    }
    let logSum = 0;
    let sum = 0;
    for (let k = lo; k <= hi; k++) {
      const p = power[k]! + 1e-30;
      logSum += Math.log(p);
      sum += p;
    }
    const n = hi - lo + 1;
    return 10 * Math.log10(Math.exp(logSum / n) / (sum / n));
  }

  #levelDb(power: number): number {
    return FULL_SCALE_DB_SPL + 10 * Math.log10(power / this.#fullScale);
  }

  #power(levelDb: number): number {
    return this.#fullScale * 10 ** ((levelDb - FULL_SCALE_DB_SPL) / 10);
  }
}

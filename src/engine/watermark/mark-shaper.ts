import { realFftOfSize } from '../dsp/real-fft.ts';
import { bandWeight, BAND_FIRST_BIN, BAND_LAST_BIN, FRAME, PERIOD, sqrtHann } from './mark-layout.ts';

/**
 * Shapes the keyed carrier under the speech, one 32 ms frame at a time: in every
 * bin of the mark band the carrier gets the speech's own (lightly smoothed)
 * magnitude times `strength`. The mark therefore follows the voice in time and
 * in frequency — loud where the speech masks it, absent in pauses and silence —
 * and a detector that whitens by the received spectrum sees the plain carrier.
 */
export class MarkShaper {
  readonly #carrier: Float32Array;
  readonly #strength: number;
  readonly #window = sqrtHann(FRAME);
  readonly #hostRe = new Float64Array(FRAME / 2 + 1);
  readonly #hostIm = new Float64Array(FRAME / 2 + 1);
  readonly #carRe = new Float64Array(FRAME / 2 + 1);
  readonly #carIm = new Float64Array(FRAME / 2 + 1);
  readonly #buf = new Float64Array(FRAME);
  readonly #mag = new Float64Array(FRAME / 2 + 1);

  /** `carrier`: one period of the signed composite carrier at 16 kHz; `strength`: mark-to-speech amplitude in the band. */
  constructor(carrier: Float32Array, strength: number) {
    this.#carrier = carrier;
    this.#strength = strength;
  }

  /**
   * The windowed mark for the host frame starting at absolute 16 kHz sample `start`,
   * ready for overlap-add (synthesis window applied).
   */
  frame(host: Float64Array, start: number): Float64Array {
    const fft = realFftOfSize(FRAME);
    const w = this.#window;
    const buf = this.#buf;
    for (let i = 0; i < FRAME; i++) buf[i] = host[i]! * w[i]!;
    fft.forward(buf, this.#hostRe, this.#hostIm);
    for (let i = 0; i < FRAME; i++) buf[i] = this.#carrier[(((start + i) % PERIOD) + PERIOD) % PERIOD]! * w[i]!;
    fft.forward(buf, this.#carRe, this.#carIm);

    const mag = this.#mag;
    let carrierPower = 0;
    for (let k = BAND_FIRST_BIN - 1; k <= BAND_LAST_BIN + 1; k++) {
      mag[k] = this.#hostRe[k]! ** 2 + this.#hostIm[k]! ** 2;
    }
    for (let k = BAND_FIRST_BIN; k <= BAND_LAST_BIN; k++) carrierPower += this.#carRe[k]! ** 2 + this.#carIm[k]! ** 2;
    const carrierRms = Math.sqrt(carrierPower / (BAND_LAST_BIN - BAND_FIRST_BIN + 1)) || 1;
    const re = this.#hostRe;
    const im = this.#hostIm;
    for (let k = 0; k <= FRAME / 2; k++) {
      const weight = bandWeight(k);
      if (weight === 0) {
        re[k] = 0;
        im[k] = 0;
        continue;
      }
      // Three-bin smoothing: follows formants and harmonics without copying one bin's null exactly.
      const host = Math.sqrt(0.25 * mag[k - 1]! + 0.5 * mag[k]! + 0.25 * mag[k + 1]!);
      const gain = (this.#strength * weight * host) / carrierRms;
      re[k] = this.#carRe[k]! * gain;
      im[k] = this.#carIm[k]! * gain;
    }
    fft.inverse(re, im, buf);
    const out = new Float64Array(FRAME);
    for (let i = 0; i < FRAME; i++) out[i] = buf[i]! * w[i]!;
    return out;
  }
}

import { realFftOfSize } from '../dsp/real-fft.ts';
import { bandWeight, BAND_FIRST_BIN, BAND_LAST_BIN, FRAME, HOP, MARK_RATE, PERIOD, sqrtHann } from './mark-layout.ts';
import { MaskingModel } from './masking-threshold.ts';
import { TemporalGate } from './temporal-gate.ts';

/**
 * Shapes the keyed carrier under the speech, one 32 ms frame at a time, so that
 * it stays below what the ear can hear there. In every critical band the mark
 * band touches, the carrier gets the band's masked threshold (`MaskingModel`)
 * times `markToMask` in energy, spread over the band's bins like the speech's own
 * spectrum. The threshold used is the lowest of this frame's and its two
 * neighbours' (each output sample is made of two overlapping frames, and a
 * listener's ear is not aligned with either); bands under the threshold in quiet
 * (pauses, silence) get nothing. `TemporalGate` then keeps the frame's mark out of
 * the quiet part of frames where a word starts or stops. A detector that whitens
 * by the received spectrum sees the plain carrier, louder where the speech masks more.
 */
export class MarkShaper {
  /** Samples of speech `frame` needs: the frame and the next hop (for the next frame's threshold). */
  static readonly SPAN = FRAME + HOP;
  readonly #carrier: Float32Array;
  readonly #markToMask: number;
  readonly #window = sqrtHann(FRAME);
  /** The masking analysis uses a Hann window, as perceptual models do: its low side lobes keep valleys between harmonics visible. */
  readonly #analysisWindow = this.#window.map((v) => v * v);
  readonly #model = new MaskingModel(
    FRAME,
    MARK_RATE,
    this.#analysisWindow.reduce((a, b) => a + b, 0),
  );
  readonly #gate = new TemporalGate(this.#window);
  /** Masked thresholds of the frames starting at #analysedStart − HOP, #analysedStart, #analysedStart + HOP. */
  #previous = new Float64Array(this.#model.bands);
  #current = new Float64Array(this.#model.bands);
  #next = new Float64Array(this.#model.bands);
  #analysedStart = Number.NaN;
  readonly #carrierPower = new Float64Array(this.#model.bands);
  readonly #bandGain = new Float64Array(this.#model.bands);
  readonly #re = new Float64Array(FRAME / 2 + 1);
  readonly #im = new Float64Array(FRAME / 2 + 1);
  readonly #carRe = new Float64Array(FRAME / 2 + 1);
  readonly #carIm = new Float64Array(FRAME / 2 + 1);
  readonly #power = new Float64Array(FRAME / 2 + 1);
  readonly #shape = new Float64Array(FRAME / 2 + 1);
  readonly #buf = new Float64Array(FRAME);

  /**
   * `carrier`: one period of the signed composite carrier at 16 kHz;
   * `markToMaskDb`: the mark's energy against the masked threshold in each band (negative: under it).
   */
  constructor(carrier: Float32Array, markToMaskDb: number) {
    this.#carrier = carrier;
    this.#markToMask = 10 ** (markToMaskDb / 10);
  }

  /**
   * The windowed mark for the frame starting at absolute 16 kHz sample `start`, ready for
   * overlap-add (synthesis window applied). `host` holds SPAN samples of speech from `start`
   * (zeros past the end of the utterance); frames come in order, one hop apart.
   */
  frame(host: Float64Array, start: number): Float64Array {
    if (this.#analysedStart === start - HOP) {
      [this.#previous, this.#current, this.#next] = [this.#current, this.#next, this.#previous];
    } else {
      this.#analyse(host.subarray(0, FRAME), this.#current);
      this.#previous.set(this.#current);
    }
    this.#analysedStart = start;
    this.#analyse(host.subarray(HOP, HOP + FRAME), this.#next);
    // The speech spectrum of this frame, for the shape inside each band.
    this.#spectrum(host.subarray(0, FRAME), this.#analysisWindow, this.#power);

    const fft = realFftOfSize(FRAME);
    const w = this.#window;
    const buf = this.#buf;
    for (let i = 0; i < FRAME; i++) buf[i] = this.#carrier[(((start + i) % PERIOD) + PERIOD) % PERIOD]! * w[i]!;
    fft.forward(buf, this.#carRe, this.#carIm);
    const model = this.#model;
    const power = this.#power;
    const shape = this.#shape;
    const carrierPower = this.#carrierPower.fill(0);
    for (let k = BAND_FIRST_BIN; k <= BAND_LAST_BIN; k++) {
      // Inside a band the mark follows the speech's (three-bin smoothed) spectrum: under the
      // harmonics and formants, not in the valleys between them, where a resolved harmonic would not hide it.
      shape[k] = bandWeight(k) * Math.sqrt(0.25 * power[k - 1]! + 0.5 * power[k]! + 0.25 * power[k + 1]!);
      const b = model.bandOfBin(k);
      carrierPower[b] = carrierPower[b]! + shape[k]! ** 2 * (this.#carRe[k]! ** 2 + this.#carIm[k]! ** 2);
    }
    const bandGain = this.#bandGain.fill(0);
    for (let b = 0; b < model.bands; b++) {
      const threshold = Math.min(this.#previous[b]!, this.#current[b]!, this.#next[b]!);
      // Under the threshold in quiet the mark would be inaudible but also useless: leave the band empty.
      if (carrierPower[b]! > 0 && threshold > model.quietPower[b]!) bandGain[b] = Math.sqrt((this.#markToMask * threshold) / carrierPower[b]!);
    }
    const re = this.#re.fill(0);
    const im = this.#im.fill(0);
    for (let k = BAND_FIRST_BIN; k <= BAND_LAST_BIN; k++) {
      const gain = shape[k]! * bandGain[model.bandOfBin(k)]!;
      re[k] = this.#carRe[k]! * gain;
      im[k] = this.#carIm[k]! * gain;
    }
    fft.inverse(re, im, buf);
    this.#gate.apply(host, buf);
    const out = new Float64Array(FRAME);
    for (let i = 0; i < FRAME; i++) out[i] = buf[i]! * w[i]!;
    return out;
  }

  #spectrum(x: Float64Array, window: Float64Array, power: Float64Array): void {
    const buf = this.#buf;
    for (let i = 0; i < FRAME; i++) buf[i] = x[i]! * window[i]!;
    realFftOfSize(FRAME).forward(buf, this.#re, this.#im);
    for (let k = 0; k <= FRAME / 2; k++) power[k] = this.#re[k]! ** 2 + this.#im[k]! ** 2;
  }

  #analyse(x: Float64Array, threshold: Float64Array): void {
    this.#spectrum(x, this.#analysisWindow, this.#power);
    this.#model.maskedThreshold(this.#power, threshold);
  }
}

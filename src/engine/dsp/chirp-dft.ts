import { fftOfSize, type Fft } from './fft.ts';

/**
 * The DFT of a real sequence of any length N (Bluestein's chirp z-transform: one
 * convolution through power-of-two FFTs), for features defined on a frame size that is
 * not a power of two, such as librosa's 400-point frames. Gives bins 0..N/2.
 */
export class ChirpDft {
  readonly size: number;
  readonly #fft: Fft;
  /** e^{-iπn²/N}, the chirp applied before and after the convolution. */
  readonly #chirpRe: Float64Array;
  readonly #chirpIm: Float64Array;
  /** The FFT of the conjugate chirp laid out circularly: the convolution kernel. */
  readonly #kernelRe: Float64Array;
  readonly #kernelIm: Float64Array;
  readonly #re: Float64Array;
  readonly #im: Float64Array;

  constructor(size: number) {
    this.size = size;
    let m = 1;
    while (m < 2 * size - 1) m *= 2;
    this.#fft = fftOfSize(m);
    this.#chirpRe = new Float64Array(size);
    this.#chirpIm = new Float64Array(size);
    this.#kernelRe = new Float64Array(m);
    this.#kernelIm = new Float64Array(m);
    for (let n = 0; n < size; n++) {
      // n² mod 2N keeps the angle exact for large n.
      const angle = (Math.PI * ((n * n) % (2 * size))) / size;
      this.#chirpRe[n] = Math.cos(angle);
      this.#chirpIm[n] = -Math.sin(angle);
      this.#kernelRe[n] = Math.cos(angle);
      this.#kernelIm[n] = Math.sin(angle);
      if (n > 0) {
        this.#kernelRe[m - n] = Math.cos(angle);
        this.#kernelIm[m - n] = Math.sin(angle);
      }
    }
    this.#fft.transform(this.#kernelRe, this.#kernelIm);
    this.#re = new Float64Array(m);
    this.#im = new Float64Array(m);
  }

  /** x (length N) -> re, im (length >= N/2 + 1). */
  forward(x: Float64Array, re: Float64Array, im: Float64Array): void {
    const a = this.#re;
    const b = this.#im;
    a.fill(0);
    b.fill(0);
    for (let n = 0; n < this.size; n++) {
      a[n] = x[n]! * this.#chirpRe[n]!;
      b[n] = x[n]! * this.#chirpIm[n]!;
    }
    this.#fft.transform(a, b);
    for (let k = 0; k < a.length; k++) {
      const r = a[k]! * this.#kernelRe[k]! - b[k]! * this.#kernelIm[k]!;
      b[k] = a[k]! * this.#kernelIm[k]! + b[k]! * this.#kernelRe[k]!;
      a[k] = r;
    }
    this.#fft.transform(a, b, true);
    for (let k = 0; k <= this.size / 2; k++) {
      re[k] = a[k]! * this.#chirpRe[k]! - b[k]! * this.#chirpIm[k]!;
      im[k] = a[k]! * this.#chirpIm[k]! + b[k]! * this.#chirpRe[k]!;
    }
  }
}

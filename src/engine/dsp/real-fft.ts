import { fftOfSize, type Fft } from './fft.ts';

/**
 * FFT of a real sequence of length N through one complex FFT of length N/2
 * (even samples as the real part, odd as the imaginary part, then split).
 * Spectra are the N/2 + 1 non-negative-frequency bins; the rest is Hermitian.
 */
export class RealFft {
  readonly size: number;
  readonly #half: Fft;
  readonly #zr: Float64Array;
  readonly #zi: Float64Array;
  readonly #cos: Float64Array;
  readonly #sin: Float64Array;

  constructor(size: number) {
    this.size = size;
    this.#half = fftOfSize(size / 2);
    this.#zr = new Float64Array(size / 2);
    this.#zi = new Float64Array(size / 2);
    this.#cos = new Float64Array(size / 2 + 1);
    this.#sin = new Float64Array(size / 2 + 1);
    for (let k = 0; k <= size / 2; k++) {
      this.#cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.#sin[k] = Math.sin((2 * Math.PI * k) / size);
    }
  }

  /** x (length N) -> re, im (length >= N/2 + 1). */
  forward(x: Float64Array, re: Float64Array, im: Float64Array): void {
    const h = this.size / 2;
    const zr = this.#zr;
    const zi = this.#zi;
    for (let n = 0; n < h; n++) {
      zr[n] = x[2 * n]!;
      zi[n] = x[2 * n + 1]!;
    }
    this.#half.transform(zr, zi);
    for (let k = 0; k <= h; k++) {
      const a = zr[k % h]!;
      const b = zi[k % h]!;
      const c = zr[(h - k) % h]!;
      const d = zi[(h - k) % h]!;
      const er = (a + c) / 2;
      const ei = (b - d) / 2;
      const or = (b + d) / 2;
      const oi = -(a - c) / 2;
      const cs = this.#cos[k]!;
      const sn = this.#sin[k]!;
      re[k] = er + cs * or + sn * oi;
      im[k] = ei + cs * oi - sn * or;
    }
  }

  /** re, im (bins 0..N/2 of a Hermitian spectrum) -> x (length N), scaled by 1/N. */
  inverse(re: Float64Array, im: Float64Array, x: Float64Array): void {
    const h = this.size / 2;
    const zr = this.#zr;
    const zi = this.#zi;
    for (let k = 0; k < h; k++) {
      const xr = re[k]!;
      const xi = im[k]!;
      const yr = re[h - k]!;
      const yi = -im[h - k]!; // conj(X[N/2 - k])
      const er = (xr + yr) / 2;
      const ei = (xi + yi) / 2;
      const dr = (xr - yr) / 2;
      const di = (xi - yi) / 2;
      const cs = this.#cos[k]!;
      const sn = this.#sin[k]!;
      const or = dr * cs - di * sn;
      const oi = dr * sn + di * cs;
      zr[k] = er - oi;
      zi[k] = ei + or;
    }
    this.#half.transform(zr, zi, true);
    for (let n = 0; n < h; n++) {
      x[2 * n] = zr[n]!;
      x[2 * n + 1] = zi[n]!;
    }
  }
}

const cache = new Map<number, RealFft>();

/**
 * Real FFT for a size. Not shared across concurrent callers' data: the object
 * holds scratch buffers, but every call completes synchronously, so one
 * instance per size is safe on Node's single thread.
 */
export function realFftOfSize(size: number): RealFft {
  let fft = cache.get(size);
  if (!fft) {
    fft = new RealFft(size);
    cache.set(size, fft);
  }
  return fft;
}

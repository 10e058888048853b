/**
 * Band-limited resampler: windowed-sinc interpolation with a Kaiser window,
 * precomputed as a polyphase table for the exact rational ratio out/in.
 * Designed for ≥ 80 dB stop-band attenuation beyond the lower Nyquist, with
 * the transition band ending at it so nothing above it aliases back.
 * Streaming: `process` may be called with any chunk sizes; `flush` drains the tail.
 */

const STOPBAND_DB = 80;
/** Transition width as a fraction of the lower of the two sample rates. */
const TRANSITION = 0.06;
/**
 * Largest polyphase table kept in memory (coefficients). An odd ratio (7919 Hz → 16 kHz)
 * has more exact phases than fit; then the table holds as many evenly spaced phases as
 * fit and each output takes the nearest: a timing error under 1/5000 of a sample, far
 * below the 80 dB design, instead of computing every tap per output sample.
 */
const MAX_TABLE = 4_000_000;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (series; converges fast for our β). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const half = x / 2;
  for (let k = 1; k < 50; k++) {
    term *= (half / k) * (half / k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

function kaiserBeta(attenuationDb: number): number {
  if (attenuationDb > 50) return 0.1102 * (attenuationDb - 8.7);
  if (attenuationDb >= 21) return 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  return 0;
}

export class Resampler {
  readonly inputRate: number;
  readonly outputRate: number;
  readonly #up: number; // L
  readonly #down: number; // M
  readonly #half: number; // taps each side
  readonly #cutoff: number; // cycles per input sample
  readonly #beta: number;
  readonly #i0Beta: number;
  readonly #table: Float32Array;
  /** Phases in the table: the exact L when it fits, else a quantised grid. */
  readonly #phases: number;
  /** Input not yet consumed, starting at absolute input index #base. */
  #buffer: Float32Array = new Float32Array(0);
  #base = 0;
  #inputCount = 0;
  #outputIndex = 0;
  #primed = false;

  constructor(inputRate: number, outputRate: number) {
    if (!Number.isInteger(inputRate) || !Number.isInteger(outputRate) || inputRate <= 0 || outputRate <= 0) {
      throw new RangeError('sample rates must be positive integers');
    }
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    const g = gcd(inputRate, outputRate);
    this.#up = outputRate / g;
    this.#down = inputRate / g;
    const ratio = Math.min(1, outputRate / inputRate);
    const transition = TRANSITION * ratio; // cycles per input sample
    this.#cutoff = 0.5 * ratio - transition / 2;
    this.#beta = kaiserBeta(STOPBAND_DB);
    this.#i0Beta = besselI0(this.#beta);
    const taps = Math.ceil((STOPBAND_DB - 7.95) / (14.36 * transition)) + 1;
    this.#half = Math.ceil(taps / 2);
    const n = 2 * this.#half;
    this.#phases = this.#up * n <= MAX_TABLE ? this.#up : Math.floor(MAX_TABLE / n);
    this.#table = this.#buildTable();
  }

  /** Samples of input delay before output starts (the filter's half length). */
  get latencyInputSamples(): number {
    return this.#half;
  }

  #coefficient(offset: number): number {
    // offset: input-sample distance from the output instant.
    const x = offset / this.#half;
    if (x <= -1 || x >= 1) return 0;
    const arg = 2 * this.#cutoff * offset;
    const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
    const window = besselI0(this.#beta * Math.sqrt(1 - x * x)) / this.#i0Beta;
    return 2 * this.#cutoff * sinc * window;
  }

  #phaseTaps(frac: number, into: Float32Array, at: number): void {
    // Taps for input samples i-H+1 .. i+H around output time i + frac.
    let sum = 0;
    const n = 2 * this.#half;
    for (let k = 0; k < n; k++) {
      const c = this.#coefficient(k - this.#half + 1 - frac);
      into[at + k] = c;
      sum += c;
    }
    // Exact unity gain at DC for every phase.
    for (let k = 0; k < n; k++) into[at + k] = (into[at + k] ?? 0) / sum;
  }

  #buildTable(): Float32Array {
    const n = 2 * this.#half;
    const table = new Float32Array(this.#phases * n);
    for (let p = 0; p < this.#phases; p++) this.#phaseTaps(p / this.#phases, table, p * n);
    return table;
  }

  /** Resamples the next chunk of a continuous signal. */
  process(input: Float32Array): Float32Array {
    if (!this.#primed) {
      // Leading zeros stand for the signal before time 0, so output 0 aligns with input 0.
      this.#buffer = new Float32Array(this.#half - 1);
      this.#base = -(this.#half - 1);
      this.#primed = true;
    }
    this.#append(input);
    this.#inputCount += input.length;
    return this.#produce(this.#base + this.#buffer.length);
  }

  /** Emits the remaining output, as if the signal were followed by silence. */
  flush(): Float32Array {
    if (!this.#primed) return new Float32Array(0);
    const totalOut = Math.ceil((this.#inputCount * this.#up) / this.#down);
    this.#append(new Float32Array(this.#half));
    const out = this.#produce(this.#base + this.#buffer.length, totalOut);
    return out;
  }

  #append(input: Float32Array): void {
    const merged = new Float32Array(this.#buffer.length + input.length);
    merged.set(this.#buffer, 0);
    merged.set(input, this.#buffer.length);
    this.#buffer = merged;
  }

  /** Produces every output whose taps lie below absolute input index `available`. */
  #produce(available: number, limit = Number.POSITIVE_INFINITY): Float32Array {
    const up = this.#up;
    const down = this.#down;
    const n = 2 * this.#half;
    const h = this.#half;
    // Output j sits at input time j*M/L; it needs input up to floor(j*M/L) + H.
    let last = Math.floor(((available - h) * up) / down); // highest j with floor(jM/L)+H < available
    while (last >= 0 && Math.floor((last * down) / up) + h >= available) last--;
    const end = Math.min(last + 1, limit);
    const count = Math.max(0, end - this.#outputIndex);
    const out = new Float32Array(count);
    const buf = this.#buffer;
    const table = this.#table;
    const phases = this.#phases;
    const exact = phases === up;
    for (let o = 0; o < count; o++) {
      const j = this.#outputIndex + o;
      const pos = j * down;
      let i = Math.floor(pos / up);
      let phase = pos - i * up;
      if (!exact) {
        phase = Math.round((phase * phases) / up);
        if (phase === phases) {
          phase = 0;
          i++;
        }
      }
      const start = i - h + 1 - this.#base;
      const t0 = phase * n;
      let acc = 0;
      if (start >= 0 && start + n <= buf.length) {
        // The hot loop (every output sample): indices are in range, checked just above.
        for (let k = 0; k < n; k++) acc += buf[start + k]! * table[t0 + k]!;
      } else {
        for (let k = 0; k < n; k++) acc += (buf[start + k] ?? 0) * (table[t0 + k] ?? 0);
      }
      out[o] = acc;
    }
    this.#outputIndex += count;
    // Drop input no later output will need.
    const nextI = Math.floor((this.#outputIndex * down) / up);
    const keepFrom = nextI - h + 1 - this.#base;
    if (keepFrom > 0) {
      this.#buffer = buf.slice(Math.min(keepFrom, buf.length));
      this.#base += Math.min(keepFrom, buf.length);
    }
    return out;
  }
}

/** One-shot resample of a whole signal; returns the input itself when rates match. */
export function resample(samples: Float32Array, inputRate: number, outputRate: number): Float32Array {
  if (inputRate === outputRate) return samples;
  const r = new Resampler(inputRate, outputRate);
  const head = r.process(samples);
  const tail = r.flush();
  const out = new Float32Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

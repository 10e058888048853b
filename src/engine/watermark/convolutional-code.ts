/**
 * The payload's error-correcting code: the standard rate-1/2, constraint-length-7
 * convolutional code (generators 133, 171 octal), terminated with 6 zero bits, and
 * a soft-decision Viterbi decoder. Soft inputs are signed reliabilities (positive
 * means bit 1); zero marks a bit this excerpt did not cover.
 */
const K = 7;
const STATES = 1 << (K - 1);
const G0 = 0o133;
const G1 = 0o171;

function parity(x: number): number {
  let p = 0;
  while (x) {
    p ^= x & 1;
    x >>= 1;
  }
  return p;
}

/** Output pair for (state, input): the register holds the input then the state's bits. */
const OUT0 = new Uint8Array(STATES * 2);
const OUT1 = new Uint8Array(STATES * 2);
for (let s = 0; s < STATES; s++) {
  for (let b = 0; b < 2; b++) {
    const reg = (b << (K - 1)) | s;
    OUT0[s * 2 + b] = parity(reg & G0);
    OUT1[s * 2 + b] = parity(reg & G1);
  }
}

export const TAIL_BITS = K - 1;

export function convolutionalEncode(bits: readonly number[]): number[] {
  const out: number[] = [];
  let state = 0;
  for (const bit of [...bits, ...new Array<number>(TAIL_BITS).fill(0)]) {
    const b = bit ? 1 : 0;
    out.push(OUT0[state * 2 + b]!, OUT1[state * 2 + b]!);
    state = ((b << (K - 1)) | state) >> 1;
  }
  return out;
}

/** Decodes `soft` (2 values per input bit, tail included) to the message bits without the tail. */
export function viterbiDecode(soft: ArrayLike<number>): number[] {
  const steps = Math.floor(soft.length / 2);
  let metric = new Float64Array(STATES).fill(-Infinity);
  metric[0] = 0;
  const from = new Uint8Array(steps * STATES);
  const input = new Uint8Array(steps * STATES);
  for (let t = 0; t < steps; t++) {
    const a = soft[2 * t]!;
    const c = soft[2 * t + 1]!;
    const next = new Float64Array(STATES).fill(-Infinity);
    for (let s = 0; s < STATES; s++) {
      const m = metric[s]!;
      if (m === -Infinity) continue;
      for (let b = 0; b < 2; b++) {
        const ns = ((b << (K - 1)) | s) >> 1;
        const gain = m + (OUT0[s * 2 + b] ? a : -a) + (OUT1[s * 2 + b] ? c : -c);
        if (gain > next[ns]!) {
          next[ns] = gain;
          from[t * STATES + ns] = s;
          input[t * STATES + ns] = b;
        }
      }
    }
    metric = next;
  }
  // Terminated code: the path ends in state 0.
  const bits = new Array<number>(steps);
  let state = 0;
  for (let t = steps - 1; t >= 0; t--) {
    bits[t] = input[t * STATES + state]!;
    state = from[t * STATES + state]!;
  }
  return bits.slice(0, steps - TAIL_BITS);
}

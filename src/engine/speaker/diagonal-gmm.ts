/**
 * A diagonal-covariance Gaussian mixture over feature frames: the universal
 * background model (UBM) and, with adapted means, one speaker's model.
 */
export interface DiagonalGmm {
  readonly components: number;
  readonly dims: number;
  readonly weights: Float64Array;
  /** components × dims */
  readonly means: Float64Array;
  /** components × dims */
  readonly variances: Float64Array;
}

/** Per-component constants that make frame scoring one multiply-add per dimension. */
export interface GmmScorer {
  readonly gmm: DiagonalGmm;
  readonly logConst: Float64Array;
  readonly precisions: Float64Array;
}

export function scorerOf(gmm: DiagonalGmm): GmmScorer {
  const logConst = new Float64Array(gmm.components);
  const precisions = new Float64Array(gmm.components * gmm.dims);
  for (let c = 0; c < gmm.components; c++) {
    let logDet = 0;
    for (let d = 0; d < gmm.dims; d++) {
      const v = gmm.variances[c * gmm.dims + d]!;
      logDet += Math.log(2 * Math.PI * v);
      precisions[c * gmm.dims + d] = 1 / v;
    }
    logConst[c] = Math.log(Math.max(gmm.weights[c]!, 1e-30)) - 0.5 * logDet;
  }
  return { gmm, logConst, precisions };
}

/** log(w_c N(x | mean_c, var_c)) for every component, written into `out`. */
export function componentLogLikelihoods(
  scorer: GmmScorer,
  frame: Float32Array,
  offset: number,
  out: Float64Array,
  means: Float64Array = scorer.gmm.means,
): void {
  const { dims, components } = scorer.gmm;
  for (let c = 0; c < components; c++) {
    let sum = 0;
    const base = c * dims;
    for (let d = 0; d < dims; d++) {
      const diff = frame[offset + d]! - means[base + d]!;
      sum += diff * diff * scorer.precisions[base + d]!;
    }
    out[c] = scorer.logConst[c]! - 0.5 * sum;
  }
}

export function logSumExp(values: Float64Array, count = values.length): number {
  let max = -Infinity;
  for (let i = 0; i < count; i++) max = Math.max(max, values[i]!);
  if (max === -Infinity) return max;
  let sum = 0;
  for (let i = 0; i < count; i++) sum += Math.exp(values[i]! - max);
  return max + Math.log(sum);
}

const MAGIC = 0x47_4d_4d_31; // "GMM1"

/** Little-endian: magic, components, dims, then weights, means, variances as float32. */
export function encodeGmm(gmm: DiagonalGmm): Uint8Array {
  const header = 3;
  const floats = gmm.components * (1 + 2 * gmm.dims);
  const view = new DataView(new ArrayBuffer(4 * (header + floats)));
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, gmm.components, true);
  view.setUint32(8, gmm.dims, true);
  let at = 12;
  for (const array of [gmm.weights, gmm.means, gmm.variances]) {
    for (const value of array) {
      view.setFloat32(at, value, true);
      at += 4;
    }
  }
  return new Uint8Array(view.buffer);
}

export function decodeGmm(bytes: Uint8Array): DiagonalGmm {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12 || view.getUint32(0, true) !== MAGIC) throw new Error('not a GMM file');
  const components = view.getUint32(4, true);
  const dims = view.getUint32(8, true);
  if (bytes.byteLength !== 12 + 4 * components * (1 + 2 * dims)) throw new Error('GMM file has the wrong length');
  let at = 12;
  const read = (n: number) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++, at += 4) out[i] = view.getFloat32(at, true);
    return out;
  };
  const weights = read(components);
  const means = read(components * dims);
  const variances = read(components * dims);
  return { components, dims, weights, means, variances };
}

/**
 * Joint-density GMM for spectral conversion (Toda, Black & Tokuda 2007) on
 * source/target vectors of static + delta mel-cepstra. Each of the four
 * covariance blocks (xx, xy, yx, yy) is diagonal, so the joint density factors
 * into one 2-D Gaussian per dimension: cheap enough to train on one core in
 * seconds, and well conditioned with one minute of speech.
 */
export interface JointComponent {
  readonly weight: number;
  readonly mx: Float64Array;
  readonly my: Float64Array;
  readonly sxx: Float64Array;
  readonly sxy: Float64Array;
  readonly syy: Float64Array;
}

export interface JointGmm {
  readonly components: readonly JointComponent[];
}

const LOG_2PI = Math.log(2 * Math.PI);

export interface VarianceFloor {
  readonly x: Float64Array;
  readonly y: Float64Array;
}

/** Floors at 1% of the data's own variance per dimension. */
export function varianceFloor(xs: readonly Float64Array[], ys: readonly Float64Array[]): VarianceFloor {
  const v = (data: readonly Float64Array[]): Float64Array => {
    const dims = data[0]?.length ?? 0;
    const mean = new Float64Array(dims);
    const sq = new Float64Array(dims);
    for (const f of data) for (let d = 0; d < dims; d++) mean[d] = mean[d]! + f[d]!;
    for (let d = 0; d < dims; d++) mean[d] = mean[d]! / data.length;
    for (const f of data) for (let d = 0; d < dims; d++) sq[d] = sq[d]! + (f[d]! - mean[d]!) ** 2;
    for (let d = 0; d < dims; d++) sq[d] = Math.max(1e-8, (0.01 * sq[d]!) / data.length);
    return sq;
  };
  return { x: v(xs), y: v(ys) };
}

/** One-component model: the joint statistics of all pairs. */
export function singleComponent(xs: readonly Float64Array[], ys: readonly Float64Array[], floor: VarianceFloor): JointGmm {
  const gamma = new Float64Array(xs.length).fill(1);
  return { components: [estimateComponent(xs, ys, gamma, xs.length, floor)] };
}

/** Doubles the number of components by perturbing each mean along its spread (LBG split). */
export function splitComponents(gmm: JointGmm): JointGmm {
  const out: JointComponent[] = [];
  for (const c of gmm.components) {
    for (const sign of [-1, 1]) {
      const mx = c.mx.map((m, d) => m + sign * 0.2 * Math.sqrt(c.sxx[d]!));
      const my = c.my.map((m, d) => m + sign * 0.2 * Math.sqrt(c.syy[d]!));
      out.push({ weight: c.weight / 2, mx, my, sxx: c.sxx.slice(), sxy: c.sxy.slice(), syy: c.syy.slice() });
    }
  }
  return { components: out };
}

/** One EM iteration over the joint pairs; returns the new model and the mean log-likelihood. */
export function emStep(
  gmm: JointGmm,
  xs: readonly Float64Array[],
  ys: readonly Float64Array[],
  floor: VarianceFloor,
): { gmm: JointGmm; logLikelihood: number } {
  const k = gmm.components.length;
  const n = xs.length;
  const resp: Float64Array[] = gmm.components.map(() => new Float64Array(n));
  const pre = gmm.components.map(precompute);
  const logs = new Float64Array(k);
  let total = 0;
  for (let t = 0; t < n; t++) {
    const x = xs[t]!;
    const y = ys[t]!;
    let max = -Infinity;
    for (let m = 0; m < k; m++) {
      const p = pre[m]!;
      let s = p.constant;
      const mx = p.mx;
      const my = p.my;
      for (let d = 0; d < mx.length; d++) {
        const dx = x[d]! - mx[d]!;
        const dy = y[d]! - my[d]!;
        s -= 0.5 * (p.a[d]! * dx * dx + p.b[d]! * dx * dy + p.c[d]! * dy * dy);
      }
      logs[m] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let m = 0; m < k; m++) sum += Math.exp(logs[m]! - max);
    const lse = max + Math.log(sum);
    total += lse;
    for (let m = 0; m < k; m++) resp[m]![t] = Math.exp(logs[m]! - lse);
  }
  const components: JointComponent[] = [];
  for (let m = 0; m < k; m++) {
    const gamma = resp[m]!;
    let mass = 0;
    for (let t = 0; t < n; t++) mass += gamma[t]!;
    if (mass < 1e-3 * n || mass < 5) {
      components.push(gmm.components[m]!); // starved: keep the old component rather than collapse
      continue;
    }
    components.push(estimateComponent(xs, ys, gamma, n, floor));
  }
  const weightSum = components.reduce((s, c) => s + c.weight, 0);
  return {
    gmm: { components: components.map((c) => ({ ...c, weight: c.weight / weightSum })) },
    logLikelihood: total / n,
  };
}

function estimateComponent(xs: readonly Float64Array[], ys: readonly Float64Array[], gamma: Float64Array, n: number, floor: VarianceFloor): JointComponent {
  const dims = xs[0]!.length;
  const mx = new Float64Array(dims);
  const my = new Float64Array(dims);
  const sxx = new Float64Array(dims);
  const sxy = new Float64Array(dims);
  const syy = new Float64Array(dims);
  let mass = 0;
  for (let t = 0; t < n; t++) {
    const g = gamma[t]!;
    if (g < 1e-8) continue;
    mass += g;
    const x = xs[t]!;
    const y = ys[t]!;
    for (let d = 0; d < dims; d++) {
      mx[d] = mx[d]! + g * x[d]!;
      my[d] = my[d]! + g * y[d]!;
      sxx[d] = sxx[d]! + g * x[d]! * x[d]!;
      sxy[d] = sxy[d]! + g * x[d]! * y[d]!;
      syy[d] = syy[d]! + g * y[d]! * y[d]!;
    }
  }
  for (let d = 0; d < dims; d++) {
    const ax = mx[d]! / mass;
    const ay = my[d]! / mass;
    mx[d] = ax;
    my[d] = ay;
    const vx = Math.max(floor.x[d]!, sxx[d]! / mass - ax * ax);
    const vy = Math.max(floor.y[d]!, syy[d]! / mass - ay * ay);
    const limit = 0.99 * Math.sqrt(vx * vy);
    sxx[d] = vx;
    syy[d] = vy;
    sxy[d] = Math.max(-limit, Math.min(limit, sxy[d]! / mass - ax * ay));
  }
  return { weight: mass / n, mx, my, sxx, sxy, syy };
}

interface Precomputed {
  readonly constant: number;
  readonly mx: Float64Array;
  readonly my: Float64Array;
  readonly a: Float64Array;
  readonly b: Float64Array;
  readonly c: Float64Array;
}

function precompute(c: JointComponent): Precomputed {
  const dims = c.mx.length;
  const a = new Float64Array(dims);
  const b = new Float64Array(dims);
  const cc = new Float64Array(dims);
  let constant = Math.log(Math.max(c.weight, 1e-300));
  for (let d = 0; d < dims; d++) {
    const det = c.sxx[d]! * c.syy[d]! - c.sxy[d]! * c.sxy[d]!;
    a[d] = c.syy[d]! / det;
    b[d] = (-2 * c.sxy[d]!) / det;
    cc[d] = c.sxx[d]! / det;
    constant += -LOG_2PI - 0.5 * Math.log(det);
  }
  return { constant, mx: c.mx, my: c.my, a, b, c: cc };
}

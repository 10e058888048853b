/** Linear up to 0.8, then a tanh knee that never reaches 1: no hard clipping clicks. */
export function softLimit(v: number): number {
  const a = Math.abs(v);
  if (a <= 0.8) return v;
  return Math.sign(v) * (0.8 + 0.2 * Math.tanh((a - 0.8) / 0.2));
}

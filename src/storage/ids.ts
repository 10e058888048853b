import { randomBytes } from 'node:crypto';

/** Internal ids: random, lowercase, safe as path segments. Platform ids never become paths. */
export function newId(prefix: 'u' | 'c' | 'clip' | 'v' | 'job'): string {
  return `${prefix}_${randomBytes(10).toString('hex')}`;
}

export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

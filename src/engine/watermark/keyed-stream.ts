import { createCipheriv, createHash } from 'node:crypto';

/** Deterministic pseudo-random bytes for one purpose under the mark key (AES-256-CTR keystream). */
export function keyedBytes(secret: Uint8Array, purpose: string, length: number): Uint8Array {
  const iv = createHash('sha256').update(purpose).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-256-ctr', secret, iv);
  return new Uint8Array(Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]));
}

/** Uniform numbers in [0, 1) from the keystream, 32 bits each. */
export function keyedUniforms(secret: Uint8Array, purpose: string, count: number): Float64Array {
  const bytes = keyedBytes(secret, purpose, count * 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4) / 2 ** 32;
  return out;
}

import { createHmac } from 'node:crypto';

/**
 * The deployment's mark key. Derived from the master key's keyed MAC under its own
 * label, so it is as secret as the master key: another deployment can neither read
 * nor forge this one's mark, and the key never leaves memory.
 */
export interface MarkKey {
  /** 32 secret bytes that seed the carriers and the slot order. */
  readonly secret: Uint8Array;
  /** A short public fingerprint of the key, carried in the payload (10 bits). */
  readonly keyId: number;
}

export const KEY_ID_BITS = 10;
const LABEL = 'vocalis/watermark/v1';

/** `mac` is a keyed MAC under the master key (MasterKey.hmac), returning hex. */
export function deriveMarkKey(mac: (data: string) => string): MarkKey {
  const secret = Buffer.from(mac(LABEL), 'hex');
  if (secret.length < 32) throw new Error('the master key MAC must give at least 32 bytes');
  const id = createHmac('sha256', secret).update('key-id').digest();
  return { secret: new Uint8Array(secret.subarray(0, 32)), keyId: id.readUInt16BE(0) & ((1 << KEY_ID_BITS) - 1) };
}

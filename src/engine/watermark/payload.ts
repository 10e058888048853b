import { KEY_ID_BITS } from './mark-key.ts';
import { convolutionalEncode, TAIL_BITS, viterbiDecode } from './convolutional-code.ts';
import { SLOTS } from './mark-layout.ts';

/**
 * What the mark says: the deployment's key id and a random utterance token that
 * only this deployment's database maps to a voice and a time. Nothing personal.
 * Bits: key id (10) + token (32) + CRC-16 (16) = 58, + 6 tail = 64, rate 1/2 → 128 coded bits, one per slot.
 */
export interface MarkPayload {
  readonly keyId: number;
  /** Unsigned 32-bit utterance token. */
  readonly token: number;
}

export const TOKEN_BITS = 32;
const CRC_BITS = 16;
const MESSAGE_BITS = KEY_ID_BITS + TOKEN_BITS + CRC_BITS;
if ((MESSAGE_BITS + TAIL_BITS) * 2 !== SLOTS) throw new Error('payload layout does not fill the slots');

function toBits(value: number, count: number): number[] {
  const bits: number[] = [];
  for (let i = count - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) % 2);
  return bits;
}

function fromBits(bits: readonly number[]): number {
  return bits.reduce((v, b) => v * 2 + b, 0);
}

/** CRC-16/CCITT-FALSE over a bit string. */
function crc16(bits: readonly number[]): number {
  let crc = 0xffff;
  for (const bit of bits) {
    const top = (crc >> 15) & 1;
    crc = (crc << 1) & 0xffff;
    if (top ^ bit) crc ^= 0x1021;
  }
  return crc;
}

/** The coded bits as ±1, in code order (the carrier interleaves them over the slots). */
export function encodePayload(payload: MarkPayload): Int8Array {
  if (!Number.isInteger(payload.token) || payload.token < 0 || payload.token >= 2 ** TOKEN_BITS)
    throw new RangeError('token must be an unsigned 32-bit integer');
  const message = [...toBits(payload.keyId, KEY_ID_BITS), ...toBits(payload.token, TOKEN_BITS)];
  const coded = convolutionalEncode([...message, ...toBits(crc16(message), CRC_BITS)]);
  return Int8Array.from(coded, (b) => (b ? 1 : -1));
}

/** Decodes soft values in code order; null unless the CRC holds. */
export function decodePayload(soft: ArrayLike<number>): MarkPayload | null {
  const bits = viterbiDecode(soft);
  const message = bits.slice(0, KEY_ID_BITS + TOKEN_BITS);
  if (fromBits(bits.slice(KEY_ID_BITS + TOKEN_BITS)) !== crc16(message)) return null;
  return { keyId: fromBits(message.slice(0, KEY_ID_BITS)), token: fromBits(message.slice(KEY_ID_BITS)) };
}

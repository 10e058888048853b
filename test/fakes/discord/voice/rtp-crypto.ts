// RTP packets encrypted with aead_aes256_gcm_rtpsize, in the exact layout @discordjs/voice 0.19 uses:
//   [RTP header (12 bytes, plus the 4-byte extension prefix when X is set)]  <- AAD, in clear
//   [AES-256-GCM ciphertext of (extension body + Opus)] [16-byte tag] [4-byte nonce counter, BE]
// The 12-byte GCM nonce is the counter in its first 4 bytes followed by zeros.
import { createCipheriv, createDecipheriv } from 'node:crypto';

export const OPUS_PAYLOAD_TYPE = 120;
export const RTP_HEADER_SIZE = 12;
export const TAG_SIZE = 16;
export const NONCE_SUFFIX_SIZE = 4;
export const ENCRYPTION_MODE = 'aead_aes256_gcm_rtpsize';
/** The 3-byte Opus frame clients send when they stop talking. */
export const SILENCE_FRAME = Buffer.from([0xf8, 0xff, 0xfe]);
/** RFC 8285 one-byte header extension profile, what Discord clients put in their packets. */
const EXTENSION_PROFILE = 0xbede;

export interface RtpHeaderFields {
  readonly sequence: number;
  readonly timestamp: number;
  readonly ssrc: number;
}

export interface OpenedPacket extends RtpHeaderFields {
  readonly payloadType: number;
  readonly nonce: number;
  /** The Opus frame with any extension body stripped. */
  readonly opus: Buffer;
}

function gcmNonce(counter: number): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(counter, 0);
  return nonce;
}

/**
 * Encrypts one Opus frame as a member's client would send it to the bot.
 * With `extensionWords` > 0 an RTP header extension is included (in clear: the 0xBEDE prefix;
 * encrypted: its body), which exercises the receiver's extension stripping.
 */
export function sealOpusPacket(fields: RtpHeaderFields, opus: Buffer, key: Uint8Array, nonceCounter: number, extensionWords = 1): Buffer {
  const hasExtension = extensionWords > 0;
  const header = Buffer.alloc(RTP_HEADER_SIZE + (hasExtension ? 4 : 0));
  header[0] = hasExtension ? 0x90 : 0x80;
  header[1] = OPUS_PAYLOAD_TYPE;
  header.writeUInt16BE(fields.sequence & 0xffff, 2);
  header.writeUInt32BE(fields.timestamp >>> 0, 4);
  header.writeUInt32BE(fields.ssrc >>> 0, 8);
  let plaintext = opus;
  if (hasExtension) {
    header.writeUInt16BE(EXTENSION_PROFILE, 12);
    header.writeUInt16BE(extensionWords, 14);
    // One-byte elements: id 1 (audio level), length 1, value; then zero padding.
    const body = Buffer.alloc(extensionWords * 4);
    body[0] = 0x10;
    body[1] = 0x7f;
    plaintext = Buffer.concat([body, opus]);
  }
  const cipher = createCipheriv('aes-256-gcm', key, gcmNonce(nonceCounter));
  cipher.setAAD(header);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  const suffix = Buffer.alloc(NONCE_SUFFIX_SIZE);
  suffix.writeUInt32BE(nonceCounter >>> 0, 0);
  return Buffer.concat([header, sealed, suffix]);
}

/** Decrypts a packet the bot sent; throws when authentication fails or the packet is malformed. */
export function openOpusPacket(packet: Buffer, key: Uint8Array): OpenedPacket {
  const first = packet[0] ?? 0;
  if (first >> 6 !== 2) throw new Error('not an RTP v2 packet');
  const hasExtension = (first & 0x10) !== 0;
  const csrcCount = first & 0x0f;
  const headerSize = RTP_HEADER_SIZE + csrcCount * 4 + (hasExtension ? 4 : 0);
  if (packet.length < headerSize + TAG_SIZE + NONCE_SUFFIX_SIZE) throw new Error('RTP packet too short');
  const header = packet.subarray(0, headerSize);
  const nonce = packet.readUInt32BE(packet.length - NONCE_SUFFIX_SIZE);
  const tagStart = packet.length - NONCE_SUFFIX_SIZE - TAG_SIZE;
  const decipher = createDecipheriv('aes-256-gcm', key, gcmNonce(nonce));
  decipher.setAAD(header);
  decipher.setAuthTag(packet.subarray(tagStart, tagStart + TAG_SIZE));
  let plaintext = Buffer.concat([decipher.update(packet.subarray(headerSize, tagStart)), decipher.final()]);
  if ((first & 0x20) !== 0) {
    const padding = plaintext[plaintext.length - 1] ?? 0;
    if (padding < plaintext.length) plaintext = plaintext.subarray(0, plaintext.length - padding);
  }
  if (hasExtension) plaintext = plaintext.subarray(packet.readUInt16BE(headerSize - 2) * 4);
  return {
    payloadType: (packet[1] ?? 0) & 0x7f,
    sequence: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    nonce,
    opus: plaintext,
  };
}

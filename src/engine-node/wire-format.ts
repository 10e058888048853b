import { createHmac, timingSafeEqual } from 'node:crypto';
import { endianness } from 'node:os';
import type { PcmChunk } from '../engine/pcm.ts';

/**
 * The response body of `/v1/speak`: a sequence of frames
 *
 *   type (u8) · payload length (u32 BE) · payload · MAC (16 bytes)
 *
 * audio:     sample rate (u32 BE) · float32 LE samples (exact: remote output equals local output)
 * keepalive: empty; sent while synthesis is slow, so a silent link is told from a slow model
 * end:       empty; the utterance is complete (a stream without it was cut short)
 * prepared:  JSON { zeroShot }: the answer of `/v1/prepare` (the voice version's files are written)
 * error:     JSON { family, code, details }: a typed error, see wire-errors.ts
 *
 * The MAC is HMAC-SHA256 (shared secret) over the request's nonce, the frame's index, its
 * type and payload, cut to 16 bytes: a frame cannot be forged, reordered, dropped or moved
 * to another response without the client noticing.
 */
export const FRAME_CONTENT_TYPE = 'application/vnd.vocalis.pcm-frames.v1';

export type Frame =
  | { readonly type: 'audio'; readonly chunk: PcmChunk }
  | { readonly type: 'keepalive' }
  | { readonly type: 'end' }
  | { readonly type: 'prepared'; readonly zeroShot: boolean }
  | { readonly type: 'error'; readonly error: WireError };

export interface WireError {
  readonly family: 'consent_denied' | 'consent' | 'backend' | 'vocalis' | 'internal';
  readonly code: string;
  readonly details: Readonly<Record<string, string | number>>;
}

const TYPE_CODES = { audio: 1, keepalive: 2, end: 3, error: 4, prepared: 5 } as const;
const TYPE_NAMES = new Map<number, Frame['type']>(Object.entries(TYPE_CODES).map(([name, code]) => [code, name as Frame['type']]));
const HEADER_BYTES = 5;
const MAC_BYTES = 16;
/** Far above one phrase of audio (8 MB ≈ 40 s at 48 kHz), far below what would hurt a client to buffer. */
export const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;
const LITTLE_ENDIAN = endianness() === 'LE';

export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireFormatError';
  }
}

function mac(secret: string, nonce: string, index: number, type: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(index, 0);
  head.writeUInt8(type, 4);
  return createHmac('sha256', secret).update(nonce).update(head).update(payload).digest().subarray(0, MAC_BYTES);
}

function payloadOf(frame: Frame): Buffer {
  switch (frame.type) {
    case 'audio': {
      const { samples, sampleRate } = frame.chunk;
      const payload = Buffer.alloc(4 + samples.byteLength);
      payload.writeUInt32BE(sampleRate, 0);
      const body = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
      body.copy(payload, 4);
      if (!LITTLE_ENDIAN) payload.subarray(4).swap32();
      return payload;
    }
    case 'error':
      return Buffer.from(JSON.stringify(frame.error), 'utf8');
    case 'prepared':
      return Buffer.from(JSON.stringify({ zeroShot: frame.zeroShot }), 'utf8');
    case 'keepalive':
    case 'end':
      return Buffer.alloc(0);
  }
}

/** Writes the frames of one response, numbering them for the MAC. */
export class FrameEncoder {
  readonly #secret: string;
  readonly #nonce: string;
  #index = 0;

  constructor(secret: string, requestNonce: string) {
    this.#secret = secret;
    this.#nonce = requestNonce;
  }

  encode(frame: Frame): Buffer {
    const type = TYPE_CODES[frame.type];
    const payload = payloadOf(frame);
    const head = Buffer.alloc(HEADER_BYTES);
    head.writeUInt8(type, 0);
    head.writeUInt32BE(payload.length, 1);
    return Buffer.concat([head, payload, mac(this.#secret, this.#nonce, this.#index++, type, payload)]);
  }
}

/** Reads frames from bytes as they arrive; throws WireFormatError on anything not written by a FrameEncoder with our secret. */
export class FrameDecoder {
  readonly #secret: string;
  readonly #nonce: string;
  #index = 0;
  #pending: Buffer = Buffer.alloc(0);

  constructor(secret: string, requestNonce: string) {
    this.#secret = secret;
    this.#nonce = requestNonce;
  }

  push(bytes: Buffer): void {
    this.#pending = this.#pending.length === 0 ? bytes : Buffer.concat([this.#pending, bytes]);
  }

  /** Bytes received but not yet a whole frame (a stream ending with some was cut mid-frame). */
  get bufferedBytes(): number {
    return this.#pending.length;
  }

  /** The next whole frame, or undefined until more bytes arrive. */
  next(): Frame | undefined {
    if (this.#pending.length < HEADER_BYTES) return undefined;
    const type = this.#pending.readUInt8(0);
    const length = this.#pending.readUInt32BE(1);
    const name = TYPE_NAMES.get(type);
    if (!name) throw new WireFormatError(`unknown frame type ${type}`);
    if (length > MAX_PAYLOAD_BYTES) throw new WireFormatError(`frame of ${length} bytes is over the limit`);
    const total = HEADER_BYTES + length + MAC_BYTES;
    if (this.#pending.length < total) return undefined;
    const payload = this.#pending.subarray(HEADER_BYTES, HEADER_BYTES + length);
    const given = this.#pending.subarray(HEADER_BYTES + length, total);
    if (!timingSafeEqual(given, mac(this.#secret, this.#nonce, this.#index, type, payload))) throw new WireFormatError('a frame failed its MAC');
    this.#index++;
    const frame = decodePayload(name, Buffer.from(payload));
    this.#pending = this.#pending.subarray(total);
    return frame;
  }
}

function decodePayload(type: Frame['type'], payload: Buffer): Frame {
  switch (type) {
    case 'audio': {
      if (payload.length < 4 || (payload.length - 4) % 4 !== 0) throw new WireFormatError('an audio frame of a length that is not whole samples');
      const sampleRate = payload.readUInt32BE(0);
      const bytes = payload.subarray(4);
      if (!LITTLE_ENDIAN) bytes.swap32();
      // A copy aligned for Float32Array (the payload's offset inside the Buffer pool may not be).
      const samples = new Float32Array(bytes.length / 4);
      new Uint8Array(samples.buffer).set(bytes);
      return { type: 'audio', chunk: { samples, sampleRate } };
    }
    case 'error': {
      const parsed = parseWireError(payload.toString('utf8'));
      if (!parsed) throw new WireFormatError('an error frame that is not a typed error');
      return { type: 'error', error: parsed };
    }
    case 'prepared': {
      const zeroShot = parseJson(payload.toString('utf8'))?.['zeroShot'];
      if (typeof zeroShot !== 'boolean') throw new WireFormatError('a prepared frame without its answer');
      return { type: 'prepared', zeroShot };
    }
    case 'keepalive':
      return { type: 'keepalive' };
    case 'end':
      return { type: 'end' };
  }
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const FAMILIES: readonly WireError['family'][] = ['consent_denied', 'consent', 'backend', 'vocalis', 'internal'];

function parseWireError(text: string): WireError | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { family, code, details } = value as Record<string, unknown>;
  if (typeof family !== 'string' || !FAMILIES.includes(family as WireError['family']) || typeof code !== 'string') return null;
  const clean: Record<string, string | number> = {};
  if (typeof details === 'object' && details !== null) {
    for (const [key, item] of Object.entries(details)) if (typeof item === 'string' || typeof item === 'number') clean[key] = item;
  }
  return { family: family as WireError['family'], code, details: clean };
}

import { createRequire } from 'node:module';

/**
 * Typed adapter over the two Opus bindings: native @discordjs/opus when it was
 * built, else the WASM opusscript (slower, always installable). Nothing outside
 * this file touches either package.
 */

export type OpusSampleRate = 8000 | 12000 | 16000 | 24000 | 48000;
export type OpusChannels = 1 | 2;

export interface OpusEncoderOptions {
  readonly sampleRate: OpusSampleRate;
  readonly channels: OpusChannels;
  /** Bits per second; libopus picks one when left out. */
  readonly bitrate?: number;
  /** Encoder complexity 0–10 (libopus default 10). Speech at voice bitrates loses nothing audible at 5, and encodes about twice as fast. */
  readonly complexity?: number;
}

export interface OpusEncoder {
  readonly sampleRate: OpusSampleRate;
  readonly channels: OpusChannels;
  /** Samples per channel in one 20 ms frame. */
  readonly frameSize: number;
  /** Encodes exactly one 20 ms frame (interleaved when stereo); floats are clamped to [-1, 1]. */
  encode(frame: Int16Array | Float32Array): Uint8Array;
}

export interface OpusDecoder {
  readonly sampleRate: OpusSampleRate;
  readonly channels: OpusChannels;
  /** Decodes one packet to interleaved 16-bit PCM. Throws on a corrupt packet. */
  decode(packet: Uint8Array): Int16Array;
}

export type OpusBinding = 'native' | 'wasm';

/** What both bindings share, as far as this adapter uses them. */
interface RawCodec {
  encode(pcm: Buffer, frameSize: number): Buffer;
  decode(packet: Buffer): Buffer;
  setBitrate(bitrate: number): void;
  /** libopus encoder CTL (OPUS_SET_COMPLEXITY is 4010); named differently by the two bindings. */
  setControl?: (ctl: number, value: number) => void;
  delete?: () => void;
}

const OPUS_SET_COMPLEXITY = 4010;
export const DEFAULT_OPUS_COMPLEXITY = 5;

type CodecFactory = (rate: OpusSampleRate, channels: OpusChannels) => RawCodec;

const require = createRequire(import.meta.url);

function isConstructor(value: unknown): value is new (...args: unknown[]) => unknown {
  return typeof value === 'function';
}

function asRawCodec(value: unknown): RawCodec {
  if (typeof value !== 'object' || value === null) throw new Error('Opus binding returned no codec');
  const v = value as Record<string, unknown>;
  if (typeof v.encode !== 'function' || typeof v.decode !== 'function' || typeof v.setBitrate !== 'function') {
    throw new Error('Opus binding lacks encode/decode/setBitrate');
  }
  return value as RawCodec;
}

function loadNative(): CodecFactory | null {
  try {
    const mod: unknown = require('@discordjs/opus');
    const ctor = typeof mod === 'object' && mod !== null ? (mod as Record<string, unknown>).OpusEncoder : undefined;
    if (!isConstructor(ctor)) return null;
    return (rate, channels) => {
      const raw = asRawCodec(new ctor(rate, channels));
      // The native binding takes its frame size from the buffer; adapt the signature.
      return {
        encode: (pcm) => (raw.encode as (b: Buffer) => Buffer)(pcm),
        decode: (packet) => raw.decode(packet),
        setBitrate: (b) => raw.setBitrate(b),
        setControl: controlOf(raw, 'applyEncoderCTL'),
      };
    };
  } catch {
    return null;
  }
}

function loadWasm(): CodecFactory | null {
  try {
    const mod: unknown = require('opusscript');
    if (!isConstructor(mod)) return null;
    const app = (mod as unknown as Record<string, unknown>).Application;
    const audio = typeof app === 'object' && app !== null ? (app as Record<string, unknown>).AUDIO : undefined;
    return (rate, channels) => {
      const raw = asRawCodec(new mod(rate, channels, typeof audio === 'number' ? audio : 2049));
      return { ...bindAll(raw), setControl: controlOf(raw, 'encoderCTL') };
    };
  } catch {
    return null;
  }
}

function controlOf(raw: RawCodec, method: string): ((ctl: number, value: number) => void) | undefined {
  const fn = (raw as unknown as Record<string, unknown>)[method];
  return typeof fn === 'function' ? (ctl, value) => void (fn as (c: number, v: number) => unknown).call(raw, ctl, value) : undefined;
}

function bindAll(raw: RawCodec): RawCodec {
  return { encode: (pcm, frameSize) => raw.encode(pcm, frameSize), decode: (packet) => raw.decode(packet), setBitrate: (b) => raw.setBitrate(b) };
}

let chosen: { binding: OpusBinding; factory: CodecFactory } | null = null;

function codecFactory(preferred?: OpusBinding): { binding: OpusBinding; factory: CodecFactory } {
  if (preferred === 'wasm') {
    const wasm = loadWasm();
    if (!wasm) throw new Error('opusscript is not installed');
    return { binding: 'wasm', factory: wasm };
  }
  if (chosen && preferred === undefined) return chosen;
  const native = loadNative();
  if (native) chosen = { binding: 'native', factory: native };
  else if (preferred === 'native') throw new Error('@discordjs/opus is not available');
  else {
    const wasm = loadWasm();
    if (!wasm) throw new Error('no Opus binding: install @discordjs/opus or opusscript');
    chosen = { binding: 'wasm', factory: wasm };
  }
  return chosen;
}

/** Which binding a default codec uses on this machine. */
export function opusBinding(): OpusBinding {
  return codecFactory().binding;
}

function toBuffer(frame: Int16Array | Float32Array): Buffer {
  if (frame instanceof Int16Array) return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const pcm = Buffer.allocUnsafe(frame.length * 2);
  for (let i = 0; i < frame.length; i++) {
    const v = Math.max(-1, Math.min(1, frame[i] ?? 0));
    pcm.writeInt16LE(v < 0 ? Math.round(v * 32768) : Math.round(v * 32767), i * 2);
  }
  return pcm;
}

export function createOpusEncoder(options: OpusEncoderOptions & { binding?: OpusBinding }): OpusEncoder {
  const { sampleRate, channels } = options;
  const raw = codecFactory(options.binding).factory(sampleRate, channels);
  if (options.bitrate !== undefined) raw.setBitrate(options.bitrate);
  raw.setControl?.(OPUS_SET_COMPLEXITY, options.complexity ?? DEFAULT_OPUS_COMPLEXITY);
  const frameSize = sampleRate / 50;
  return {
    sampleRate,
    channels,
    frameSize,
    encode(frame) {
      if (frame.length !== frameSize * channels) {
        throw new RangeError(`an Opus frame must hold ${frameSize * channels} samples, got ${frame.length}`);
      }
      const out = raw.encode(toBuffer(frame), frameSize);
      // Copy: the WASM binding reuses its output buffer.
      return new Uint8Array(out);
    },
  };
}

export function createOpusDecoder(options: { sampleRate: OpusSampleRate; channels: OpusChannels; binding?: OpusBinding }): OpusDecoder {
  const { sampleRate, channels } = options;
  const raw = codecFactory(options.binding).factory(sampleRate, channels);
  return {
    sampleRate,
    channels,
    decode(packet) {
      const pcm = raw.decode(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
      const copy = new Int16Array(pcm.length >> 1);
      for (let i = 0; i < copy.length; i++) copy[i] = pcm.readInt16LE(i * 2);
      return copy;
    },
  };
}

export function isOpusSampleRate(rate: number): rate is OpusSampleRate {
  return rate === 8000 || rate === 12000 || rate === 16000 || rate === 24000 || rate === 48000;
}

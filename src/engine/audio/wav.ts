import type { PcmChunk } from '../pcm.ts';
import { AudioDecodeError } from './audio-errors.ts';
import { downmixInterleaved, sanitizeSamples } from './downmix.ts';

/** A decoded WAV before any resampling: mono, at the file's own rate. */
export interface WavDecodeResult extends PcmChunk {
  readonly channels: number;
  readonly silentChannels: number;
  /** NaN/Inf samples replaced (float files only). */
  readonly nonFiniteSamples: number;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

function ascii(bytes: Uint8Array, at: number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(bytes[at + i] ?? 0);
  return s;
}

/** Encodes mono PCM as a canonical RIFF/WAVE file: 16-bit integer or 32-bit float. */
export function encodeWav(pcm: PcmChunk, bits: 16 | 32 = 16): Uint8Array {
  const bytesPerSample = bits / 8;
  const dataBytes = pcm.samples.length * bytesPerSample;
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  const writeAscii = (at: number, text: string): void => {
    for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  };
  writeAscii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  writeAscii(8, 'WAVE');
  writeAscii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, bits === 32 ? FORMAT_FLOAT : FORMAT_PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, pcm.sampleRate, true);
  view.setUint32(28, pcm.sampleRate * bytesPerSample, true);
  view.setUint16(32, bytesPerSample, true);
  view.setUint16(34, bits, true);
  writeAscii(36, 'data');
  view.setUint32(40, dataBytes, true);
  const samples = pcm.samples;
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i] ?? 0));
    if (bits === 32) view.setFloat32(44 + i * 4, v, true);
    else view.setInt16(44 + i * 2, v < 0 ? Math.round(v * 32768) : Math.round(v * 32767), true);
  }
  return out;
}

interface WavFormat {
  readonly format: number;
  readonly channels: number;
  readonly sampleRate: number;
  readonly bits: number;
}

function readFormat(bytes: Uint8Array, view: DataView, at: number, size: number): WavFormat {
  if (size < 16) throw new AudioDecodeError('corrupt', 'WAV fmt chunk is too short');
  let format = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const bits = view.getUint16(at + 14, true);
  if (format === FORMAT_EXTENSIBLE) {
    if (size < 40 || at + 26 > bytes.length) throw new AudioDecodeError('corrupt', 'WAV extensible format is too short');
    format = view.getUint16(at + 24, true); // first two bytes of the sub-format GUID
  }
  return { format, channels, sampleRate, bits };
}

/**
 * Decodes WAV (PCM 8/16/24/32-bit, float 32/64, any channel count) to mono.
 * A data chunk that claims more bytes than the file holds is read as far as it goes
 * (recorders that were killed mid-write leave exactly that), but at least one frame must exist.
 */
export function decodeWav(bytes: Uint8Array): WavDecodeResult {
  if (bytes.length < 12 || ascii(bytes, 8, 4) !== 'WAVE') throw new AudioDecodeError('not_audio', 'not a RIFF/WAVE file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 12;
  let fmt: WavFormat | null = null;
  let data: { start: number; size: number } | null = null;
  while (at + 8 <= bytes.length) {
    const id = ascii(bytes, at, 4);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (body + Math.min(size, 16) > bytes.length) throw new AudioDecodeError('truncated', 'WAV file ends inside its fmt chunk');
      fmt = readFormat(bytes, view, body, size);
    } else if (id === 'data') {
      // 0xffffffff is what streaming writers leave when they cannot seek back.
      data = { start: body, size: Math.min(size, bytes.length - body) };
      break;
    }
    at = body + size + (size & 1);
  }
  if (!fmt) throw new AudioDecodeError('corrupt', 'WAV file has no fmt chunk');
  if (!data) throw new AudioDecodeError('truncated', 'WAV file has no data chunk');
  const { format, channels, sampleRate, bits } = fmt;
  if (channels < 1 || channels > 32) throw new AudioDecodeError('corrupt', `WAV channel count ${channels} is invalid`);
  if (sampleRate < 1000 || sampleRate > 768_000) throw new AudioDecodeError('corrupt', `WAV sample rate ${sampleRate} is invalid`);
  const isFloat = format === FORMAT_FLOAT;
  if (!(format === FORMAT_PCM || isFloat)) throw new AudioDecodeError('unsupported', `WAV format tag ${format} is not PCM or float`);
  if (isFloat ? bits !== 32 && bits !== 64 : ![8, 16, 24, 32].includes(bits)) {
    throw new AudioDecodeError('unsupported', `WAV ${isFloat ? 'float' : 'PCM'} with ${bits} bits is not supported`);
  }
  const bytesPerSample = bits / 8;
  const frames = Math.floor(data.size / (bytesPerSample * channels));
  if (frames === 0) throw new AudioDecodeError('empty', 'WAV file holds no audio frames');
  const count = frames * channels;
  const interleaved = new Float32Array(count);
  let p = data.start;
  for (let i = 0; i < count; i++, p += bytesPerSample) {
    let v: number;
    if (isFloat) v = bits === 32 ? view.getFloat32(p, true) : view.getFloat64(p, true);
    else if (bits === 16) v = view.getInt16(p, true) / 32768;
    else if (bits === 24) {
      const raw = (bytes[p] ?? 0) | ((bytes[p + 1] ?? 0) << 8) | ((bytes[p + 2] ?? 0) << 16);
      v = ((raw << 8) >> 8) / 8388608;
    } else if (bits === 32) v = view.getInt32(p, true) / 2147483648;
    else v = ((bytes[p] ?? 128) - 128) / 128;
    interleaved[i] = v;
  }
  const nonFiniteSamples = sanitizeSamples(interleaved);
  const mono = downmixInterleaved(interleaved, channels);
  return { samples: mono.samples, sampleRate, channels, silentChannels: mono.silentChannels, nonFiniteSamples };
}

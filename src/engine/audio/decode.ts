import { open } from 'node:fs/promises';
import { AudioDecodeError } from './audio-errors.ts';
import type { DecodedAudio } from './decoded-audio.ts';
import { resolveLimits } from './decode-limits.ts';
import type { DecodeLimits } from './decode-limits.ts';
import { decodeWithFfmpeg } from './ffmpeg-decode.ts';
import { sniffFormat } from './format-sniff.ts';
import { decodeOggOpusBytes } from './opus-decode.ts';
import { resample } from './resampler.ts';
import { decodeWav } from './wav.ts';

export { AudioDecodeError } from './audio-errors.ts';
export type { AudioDecodeErrorCode } from './audio-errors.ts';
export type { DecodeLimits } from './decode-limits.ts';
export type { DecodedAudio } from './decoded-audio.ts';
export { decodeOpusPackets } from './opus-decode.ts';

export interface DecodeOptions {
  /** Rate the caller (a backend, the VAD) wants, in Hz. */
  readonly sampleRate: number;
  readonly limits?: Partial<DecodeLimits>;
  readonly signal?: AbortSignal;
}

function checkDuration(audio: DecodedAudio, limits: DecodeLimits): DecodedAudio {
  if (audio.samples.length > limits.maxDurationSeconds * audio.sampleRate + 1) {
    throw new AudioDecodeError('too_long', `audio is longer than ${limits.maxDurationSeconds} s`);
  }
  if (audio.samples.length === 0) throw new AudioDecodeError('empty', 'the audio holds no samples');
  return audio;
}

/**
 * Decodes any supported input to mono float PCM at `sampleRate`. The format is
 * sniffed from magic bytes: Ogg Opus and WAV decode in-process, everything else
 * through ffmpeg under the byte/duration/wall-time limits.
 */
export async function decodeAudio(input: Uint8Array, options: DecodeOptions): Promise<DecodedAudio> {
  const limits = resolveLimits(options.limits);
  const { sampleRate, signal } = options;
  if (!Number.isInteger(sampleRate) || sampleRate < 4000 || sampleRate > 192_000) {
    throw new RangeError(`target sample rate ${sampleRate} is out of range`);
  }
  signal?.throwIfAborted();
  if (input.length === 0) throw new AudioDecodeError('empty', 'the file is empty');
  if (input.length > limits.maxInputBytes) {
    throw new AudioDecodeError('too_large', `the file is larger than ${limits.maxInputBytes} bytes`);
  }
  const format = sniffFormat(input);
  if (format === 'ogg') {
    try {
      return checkDuration(decodeOggOpusBytes(input, sampleRate, limits.maxDurationSeconds), limits);
    } catch (error) {
      // Ogg Vorbis / Ogg FLAC: not ours to decode in-process, ffmpeg knows them.
      if (!(error instanceof AudioDecodeError && error.code === 'unsupported')) throw error;
    }
  } else if (format === 'wav') {
    try {
      const wav = decodeWav(input);
      if (wav.samples.length > limits.maxDurationSeconds * wav.sampleRate + 1) {
        throw new AudioDecodeError('too_long', `audio is longer than ${limits.maxDurationSeconds} s`);
      }
      return checkDuration(
        {
          samples: resample(wav.samples, wav.sampleRate, sampleRate),
          sampleRate,
          sourceSampleRate: wav.sampleRate,
          sourceChannels: wav.channels,
          silentChannels: wav.silentChannels,
          nonFiniteSamples: wav.nonFiniteSamples,
          container: 'wav',
        },
        limits,
      );
    } catch (error) {
      // ADPCM, µ-law and friends: ffmpeg decodes them.
      if (!(error instanceof AudioDecodeError && error.code === 'unsupported')) throw error;
    }
  }
  return checkDuration(
    await decodeWithFfmpeg(input, {
      sampleRate,
      limits,
      signal,
      needsSeekableInput: format === 'mp4',
      container: format,
    }),
    limits,
  );
}

/** Reads a file (refusing it by size before reading a byte of it) and decodes it. */
export async function decodeAudioFile(path: string, options: DecodeOptions): Promise<DecodedAudio> {
  const limits = resolveLimits(options.limits);
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > limits.maxInputBytes) throw new AudioDecodeError('too_large', `the file is larger than ${limits.maxInputBytes} bytes`);
    const bytes = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(bytes, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return await decodeAudio(bytes.subarray(0, at), options);
  } finally {
    await handle.close();
  }
}

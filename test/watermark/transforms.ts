import { execFileSync } from 'node:child_process';
import { decodeAudio } from '../../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../../src/engine/audio/opus-frames.ts';
import { encodeWav } from '../../src/engine/audio/wav.ts';
import { resample } from '../../src/engine/audio/resampler.ts';
import type { PcmChunk } from '../../src/engine/pcm.ts';
import { MARK_RATE } from '../../src/engine/watermark/mark-layout.ts';

/**
 * What happens to a clip after it leaves Vocalis, each returning 16 kHz mono for the
 * detector: codecs (the project's Opus, ffmpeg's MP3 and AAC), resampling, volume,
 * mixing, and a phone path done with sox: 300–3400 Hz (2-pole high- and low-pass), a small
 * room's reverb, 8 kHz µ-law.
 */
export type Transform = (pcm: PcmChunk) => Promise<Float32Array>;

function ffmpegRoundTrip(args: readonly string[], format: string): Transform {
  return async (pcm) => {
    const wav = encodeWav(pcm);
    const coded = execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'wav', '-i', 'pipe:0', ...args, '-f', format, 'pipe:1'], {
      input: wav,
      maxBuffer: 256 << 20,
    });
    return (await decodeAudio(new Uint8Array(coded), { sampleRate: MARK_RATE, limits: { maxWallMs: 300_000 } })).samples;
  };
}

export const TRANSFORMS: Readonly<Record<string, Transform>> = {
  none: async (pcm) => resample(pcm.samples, pcm.sampleRate, MARK_RATE),
  'opus 16 kbps': async (pcm) =>
    (await decodeAudio(await encodeOggOpus(pcm, { bitrate: 16_000 }), { sampleRate: MARK_RATE, limits: { maxWallMs: 300_000 } })).samples,
  'opus 32 kbps': async (pcm) =>
    (await decodeAudio(await encodeOggOpus(pcm, { bitrate: 32_000 }), { sampleRate: MARK_RATE, limits: { maxWallMs: 300_000 } })).samples,
  'opus 64 kbps': async (pcm) =>
    (await decodeAudio(await encodeOggOpus(pcm, { bitrate: 64_000 }), { sampleRate: MARK_RATE, limits: { maxWallMs: 300_000 } })).samples,
  'mp3 64 kbps': ffmpegRoundTrip(['-c:a', 'libmp3lame', '-b:a', '64k'], 'mp3'),
  'aac 48 kbps': ffmpegRoundTrip(['-c:a', 'aac', '-b:a', '48k'], 'adts'),
  'resample 8 kHz': async (pcm) => resample(resample(pcm.samples, pcm.sampleRate, 8000), 8000, MARK_RATE),
  'resample 44.1 kHz': async (pcm) => resample(resample(pcm.samples, pcm.sampleRate, 44_100), 44_100, MARK_RATE),
  'volume −12 dB': async (pcm) =>
    resample(
      pcm.samples.map((v) => v * 0.25),
      pcm.sampleRate,
      MARK_RATE,
    ),
  'phone (sox: 300–3400 Hz, reverb, 8 kHz µ-law)': soxRoundTrip(
    ['gain', '-3', 'highpass', '300', 'lowpass', '3400', 'reverb', '30', '50', '20', 'rate', '8k'],
    ['-e', 'u-law', '-r', '8000', '-c', '1'],
  ),
};

/** Runs sox's effect chain on a WAV and decodes what comes out. */
function soxRoundTrip(effects: readonly string[], output: readonly string[]): Transform {
  return async (pcm) => {
    const coded = execFileSync('sox', ['-t', 'wav', '-', '-t', 'wav', ...output, '-', ...effects], { input: encodeWav(pcm), maxBuffer: 256 << 20 });
    return (await decodeAudio(new Uint8Array(coded), { sampleRate: MARK_RATE, limits: { maxWallMs: 300_000 } })).samples;
  };
}

/** Adds another recording at the same loudness, as a second speaker in a voice channel would. */
export function mixWith(other: Float32Array): Transform {
  return async (pcm) => {
    const own = resample(pcm.samples, pcm.sampleRate, MARK_RATE);
    const a = rms(own);
    const b = rms(other) || 1;
    return own.map((v, i) => v + ((other[i % other.length] ?? 0) * a) / b);
  };
}

export function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}

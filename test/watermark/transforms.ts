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
 * mixing, and a phone path (300–3400 Hz, 8 kHz µ-law, a small room's echo) done with ffmpeg.
 */
export type Transform = (pcm: PcmChunk) => Promise<Float32Array>;

function ffmpegRoundTrip(args: readonly string[], format: string): Transform {
  return async (pcm) => {
    const wav = encodeWav(pcm);
    const coded = execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'wav', '-i', 'pipe:0', ...args, '-f', format, 'pipe:1'], { input: wav, maxBuffer: 256 << 20 });
    return (await decodeAudio(new Uint8Array(coded), { sampleRate: MARK_RATE, limits: { maxWallMs: 300_000 } })).samples;
  };
}

export const TRANSFORMS: Readonly<Record<string, Transform>> = {
  none: async (pcm) => resample(pcm.samples, pcm.sampleRate, MARK_RATE),
  'opus 16 kbps': async (pcm) => (await decodeAudio(await encodeOggOpus(pcm, { bitrate: 16_000 }), { sampleRate: MARK_RATE, limits: { maxWallMs: 300_000 } })).samples,
  'opus 32 kbps': async (pcm) => (await decodeAudio(await encodeOggOpus(pcm, { bitrate: 32_000 }), { sampleRate: MARK_RATE, limits: { maxWallMs: 300_000 } })).samples,
  'opus 64 kbps': async (pcm) => (await decodeAudio(await encodeOggOpus(pcm, { bitrate: 64_000 }), { sampleRate: MARK_RATE, limits: { maxWallMs: 300_000 } })).samples,
  'mp3 64 kbps': ffmpegRoundTrip(['-c:a', 'libmp3lame', '-b:a', '64k'], 'mp3'),
  'aac 48 kbps': ffmpegRoundTrip(['-c:a', 'aac', '-b:a', '48k'], 'adts'),
  'resample 8 kHz': async (pcm) => resample(resample(pcm.samples, pcm.sampleRate, 8000), 8000, MARK_RATE),
  'resample 44.1 kHz': async (pcm) => resample(resample(pcm.samples, pcm.sampleRate, 44_100), 44_100, MARK_RATE),
  'volume −12 dB': async (pcm) => resample(pcm.samples.map((v) => v * 0.25), pcm.sampleRate, MARK_RATE),
  'phone (300–3400 Hz, 8 kHz µ-law, echo)': ffmpegRoundTrip(
    ['-af', 'highpass=f=300:poles=2,lowpass=f=3400:poles=2,aecho=0.8:0.7:23|41:0.3|0.2', '-ar', '8000', '-c:a', 'pcm_mulaw'], 'wav'),
};

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

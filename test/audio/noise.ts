import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeAudioFile } from '../../src/engine/audio/decode.ts';
import { detectSpeech } from '../../src/engine/audio/vad.ts';
import type { PcmChunk } from '../../src/engine/pcm.ts';

/**
 * Backgrounds mixed into real speech at a chosen SNR, for the noise verdict's
 * tests and the classic bench: steady noise (white, pink) that a denoiser can
 * remove, and voices (babble of pool speakers) and music that it cannot.
 * Deterministic: every generator takes a seed.
 */
const POOL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/librispeech/pool');

function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}

function gaussian(seed: number): () => number {
  const u = random(seed);
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

export function whiteNoise(length: number, seed = 1): Float32Array {
  const g = gaussian(seed);
  return Float32Array.from({ length }, () => g());
}

/** Pink (1/f) noise by Paul Kellet's three-pole filter: the spectrum of a fan or a room's air. */
export function pinkNoise(length: number, seed = 1): Float32Array {
  const g = gaussian(seed);
  const out = new Float32Array(length);
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  for (let i = 0; i < length; i++) {
    const w = g();
    b0 = 0.99765 * b0 + w * 0.099046;
    b1 = 0.963 * b1 + w * 0.2965164;
    b2 = 0.57 * b2 + w * 1.0526913;
    out[i] = b0 + b1 + b2 + w * 0.1848;
  }
  return out;
}

/** Several pool speakers talking at once, each from a random point (looped). */
export async function babble(length: number, sampleRate: number, talkers = 6, seed = 1): Promise<Float32Array> {
  const files = readdirSync(POOL_DIR)
    .filter((n) => n.endsWith('.flac'))
    .sort()
    .slice(0, talkers);
  if (files.length < talkers) throw new Error(`missing test data: ${talkers} pool speakers in ${POOL_DIR} (see ../shared/data/README.md)`);
  const u = random(seed);
  const out = new Float32Array(length);
  for (const file of files) {
    const voice = (await decodeAudioFile(path.join(POOL_DIR, file), { sampleRate })).samples;
    const offset = Math.floor(u() * voice.length);
    for (let i = 0; i < length; i++) out[i] = (out[i] ?? 0) + (voice[(offset + i) % voice.length] ?? 0);
  }
  return out;
}

/** Plucked three-note chords changing every 0.4 s, with their octaves: music behind the speaker. */
export function music(length: number, sampleRate: number): Float32Array {
  const notes = [261.6, 329.6, 392, 523.3, 440, 349.2];
  const beat = Math.round(0.4 * sampleRate);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const n = Math.floor(i / beat);
    const envelope = Math.exp(-((i % beat) / sampleRate) * 4);
    let v = 0;
    for (let k = 0; k < 3; k++) {
      const f = notes[(n + 2 * k) % notes.length]!;
      v += envelope * (Math.sin((2 * Math.PI * f * i) / sampleRate) + 0.3 * Math.sin((4 * Math.PI * f * i) / sampleRate));
    }
    out[i] = v;
  }
  return out;
}

/** Speech plus `noise` scaled so speech power (over the VAD's speech segments) is `snrDb` above the noise's. */
export async function mixAtSnr(speech: PcmChunk, noise: Float32Array, snrDb: number): Promise<PcmChunk> {
  const vad = await detectSpeech(speech);
  let speechPower = 0;
  let count = 0;
  for (const seg of vad.segments) {
    for (let i = Math.floor(seg.start * speech.sampleRate); i < Math.min(speech.samples.length, seg.end * speech.sampleRate); i++) {
      speechPower += (speech.samples[i] ?? 0) ** 2;
      count++;
    }
  }
  let noisePower = 0;
  for (let i = 0; i < speech.samples.length; i++) noisePower += (noise[i] ?? 0) ** 2;
  noisePower /= Math.max(1, speech.samples.length);
  const gain = Math.sqrt(speechPower / Math.max(1, count) / Math.max(noisePower, 1e-20) / 10 ** (snrDb / 10));
  return { samples: speech.samples.map((v, i) => Math.max(-1, Math.min(1, v + gain * (noise[i] ?? 0)))), sampleRate: speech.sampleRate };
}

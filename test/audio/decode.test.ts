import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'vitest';
import { AudioDecodeError, decodeAudio, decodeAudioFile, decodeOpusPackets } from '../../src/engine/audio/decode.ts';
import { encodeOggOpus, pcmToOpusFrames } from '../../src/engine/audio/opus-frames.ts';
import { encodeWav } from '../../src/engine/audio/wav.ts';
import { dataFile, ffmpeg, ffprobeDuration, readData, rms, speakerFiles, tone } from './fixtures.ts';

const FLAC = speakerFiles('1998')[0] ?? '';
const tmp = mkdtempSync(join(tmpdir(), 'vocalis-audio-test-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof AudioDecodeError && error.code === code);
}

test('decodes LibriSpeech FLAC (ffmpeg) and Allison WAV (in-process)', async () => {
  const flac = await decodeAudioFile(FLAC, { sampleRate: 16000 });
  assert.equal(flac.sourceSampleRate, 16000);
  assert.ok(flac.samples.length > 16000 * 2 && rms(flac.samples) > 0.01);
  const wavPath = dataFile('allison-prompts/' + 'demo-congrats.wav');
  const wav = await decodeAudioFile(wavPath, { sampleRate: 24000 });
  assert.equal(wav.container, 'wav');
  const again = await decodeAudio(readData('allison-prompts/demo-congrats.wav'), { sampleRate: 16000 });
  assert.ok(Math.abs(wav.samples.length / 24000 - again.samples.length / 16000) < 0.01);
});

test('Ogg Opus we write: ffprobe accepts it with the right duration; decoding back matches', async () => {
  const source = await decodeAudioFile(FLAC, { sampleRate: 16000 });
  const ogg = await encodeOggOpus(source);
  const path = join(tmp, 'out.ogg');
  writeFileSync(path, ogg);
  const seconds = source.samples.length / 16000;
  assert.ok(Math.abs((await ffprobeDuration(path)) - seconds) < 0.02);
  const back = await decodeAudio(ogg, { sampleRate: 16000 });
  assert.equal(back.samples.length, source.samples.length);
  let dot = 0,
    a = 0,
    b = 0;
  for (let i = 0; i < back.samples.length; i++) {
    dot += (source.samples[i] ?? 0) * (back.samples[i] ?? 0);
    a += (source.samples[i] ?? 0) ** 2;
    b += (back.samples[i] ?? 0) ** 2;
  }
  assert.ok(dot / Math.sqrt(a * b) > 0.95, 'decoded Ogg Opus differs beyond codec tolerance');
  // ffmpeg agrees on the content of our file.
  const viaFfmpeg = await decodeAudioFile(path, { sampleRate: 16000, limits: {} });
  assert.ok(Math.abs(viaFfmpeg.samples.length - source.samples.length) < 400);
});

test('Ogg Opus made by ffmpeg from real speech decodes in-process', async () => {
  const ogg = await ffmpeg(['-i', FLAC, '-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg', 'pipe:1']);
  const pcm = await decodeAudio(ogg, { sampleRate: 16000 });
  const ref = await decodeAudioFile(FLAC, { sampleRate: 16000 });
  assert.equal(pcm.container, 'ogg-opus');
  assert.ok(Math.abs(pcm.samples.length - ref.samples.length) <= 16);
});

test('Discord receiver packets (48 kHz stereo 20 ms) decode to mono', async () => {
  const packets: Uint8Array[] = [];
  for await (const p of pcmToOpusFrames([{ samples: tone(300, 16000, 1, 0.3), sampleRate: 16000 }], { channels: 2 })) packets.push(p);
  assert.equal(packets.length, 50);
  const pcm = decodeOpusPackets(packets, 16000);
  assert.equal(pcm.samples.length, 16000);
  assert.ok(Math.abs(rms(pcm.samples, 2000, 15000) - 0.3 / Math.SQRT2) < 0.03);
});

test('stereo with one silent channel keeps its level (WAV and ffmpeg paths)', async () => {
  const left = tone(220, 16000, 1, 0.4);
  const stereo = await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=220:sample_rate=16000:duration=1',
    '-af',
    'pan=stereo|c0=c0|c1=0*c0',
    '-f',
    'flac',
    'pipe:1',
  ]);
  const viaFfmpeg = await decodeAudio(stereo, { sampleRate: 16000 });
  assert.equal(viaFfmpeg.silentChannels, 1);
  assert.ok(Math.abs(rms(viaFfmpeg.samples) - rms(ffmpegSineRef())) < 0.02);
  const wavStereo = await ffmpeg(['-i', 'pipe:0', '-af', 'pan=stereo|c0=c0|c1=0*c0', '-f', 'wav', 'pipe:1'], encodeWav({ samples: left, sampleRate: 16000 }));
  const viaWav = await decodeAudio(wavStereo, { sampleRate: 16000 });
  assert.equal(viaWav.silentChannels, 1);
  assert.ok(Math.abs(rms(viaWav.samples) - rms(left)) < 0.01);
});

function ffmpegSineRef(): Float32Array {
  return tone(220, 16000, 1, 1 / 8); // ffmpeg's sine source has amplitude 1/8
}

test('8 kHz audio decodes and reports its source rate', async () => {
  const narrow = await ffmpeg(['-i', FLAC, '-ar', '8000', '-f', 'mp3', 'pipe:1']);
  const pcm = await decodeAudio(narrow, { sampleRate: 16000 });
  assert.equal(pcm.sourceSampleRate, 8000);
});

test('NaN/Inf samples in float WAV are replaced, counted, and never reach the output', async () => {
  const samples = tone(200, 16000, 0.5);
  const wav = encodeWav({ samples, sampleRate: 16000 }, 32);
  const view = new DataView(wav.buffer);
  view.setFloat32(44 + 10 * 4, Number.NaN, true);
  view.setFloat32(44 + 20 * 4, Number.POSITIVE_INFINITY, true);
  view.setFloat32(44 + 30 * 4, Number.NEGATIVE_INFINITY, true);
  const pcm = await decodeAudio(wav, { sampleRate: 16000 });
  assert.equal(pcm.nonFiniteSamples, 3);
  assert.ok(pcm.samples.every((v) => Number.isFinite(v) && Math.abs(v) <= 1));
});

test('bad inputs fail with clear codes', async () => {
  const ogg = await encodeOggOpus({ samples: tone(300, 16000, 2), sampleRate: 16000 });
  await rejectsWith(decodeAudio(new Uint8Array(0), { sampleRate: 16000 }), 'empty');
  await rejectsWith(decodeAudio(ogg.subarray(0, ogg.length - 37), { sampleRate: 16000 }), 'truncated');
  const badCrc = ogg.slice();
  badCrc[200] = (badCrc[200] ?? 0) ^ 0x55;
  await rejectsWith(decodeAudio(badCrc, { sampleRate: 16000 }), 'corrupt');
  // Non-audio bytes behind an audio extension: the name is ignored, the bytes decide.
  const fake = join(tmp, 'song.mp3');
  writeFileSync(fake, new TextEncoder().encode('<html>not audio</html>'.repeat(200)));
  await rejectsWith(decodeAudioFile(fake, { sampleRate: 16000 }), 'not_audio');
  const video = await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=duration=1:size=64x64:rate=10', '-c:v', 'mpeg4', '-f', 'matroska', 'pipe:1']);
  await rejectsWith(decodeAudio(video, { sampleRate: 16000 }), 'no_audio_stream');
});

test('200 MB is refused by size without being read', async () => {
  const big = join(tmp, 'big.flac');
  writeFileSync(big, new Uint8Array(0));
  truncateSync(big, 200 * 1024 * 1024); // sparse: no 200 MB on disk or in memory
  const before = process.memoryUsage().rss;
  await rejectsWith(decodeAudioFile(big, { sampleRate: 16000 }), 'too_large');
  assert.ok(process.memoryUsage().rss - before < 50 * 1024 * 1024);
  await rejectsWith(decodeAudio(new Uint8Array(2048).fill(1), { sampleRate: 16000, limits: { maxInputBytes: 1024 } }), 'too_large');
});

test('a 3-hour file stops at the duration limit, quickly and in bounded memory', async () => {
  // 3 hours of near-silence compresses to a small FLAC; the decode must stop at the limit.
  const long = join(tmp, 'long.flac');
  writeFileSync(long, await ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=1000:cl=mono', '-t', '10800', '-c:a', 'flac', '-f', 'flac', 'pipe:1']));
  const started = Date.now();
  await rejectsWith(decodeAudioFile(long, { sampleRate: 16000, limits: { maxDurationSeconds: 120 } }), 'too_long');
  assert.ok(Date.now() - started < 5000);
  // Ogg Opus: refused from its granule positions before decoding a packet.
  const ogg = await encodeOggOpus({ samples: new Float32Array(16000 * 130), sampleRate: 16000 });
  await rejectsWith(decodeAudio(ogg, { sampleRate: 16000, limits: { maxDurationSeconds: 120 } }), 'too_long');
});

test('wall-time limit kills ffmpeg', async () => {
  const flac = readData(`librispeech/test-other/1998/${FLAC.split('/').pop() ?? ''}`);
  await rejectsWith(decodeAudio(flac, { sampleRate: 16000, limits: { maxWallMs: 1 } }), 'timeout');
});

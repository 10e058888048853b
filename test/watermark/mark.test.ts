import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'vitest';
import { decodeAudio, decodeAudioFile } from '../../src/engine/audio/decode.ts';
import { MarkEmbedder } from '../../src/engine/watermark/mark-embedder.ts';
import { detectMark, detectMarkDetail } from '../../src/engine/watermark/mark-detector.ts';
import { MARK_RATE } from '../../src/engine/watermark/mark-layout.ts';
import type { PcmChunk } from '../../src/engine/pcm.ts';
import { fliteWav, lavfiWav, MUSIC_SOURCE } from '../support/spoken-audio.ts';
import { sharedFile } from '../support/speech-data.ts';
import { testMarks } from '../support/test-marks.ts';
import { mixWith, TRANSFORMS } from './transforms.ts';

const marks = testMarks();
const PAYLOAD = { keyId: marks.key.keyId, token: 0xc0ffee42 };
const TEXT =
  'The quick brown fox jumps over the lazy dog. A synthetic voice reads this paragraph aloud, slowly and clearly, ' +
  'so that the mark has enough speech to ride on. Every sentence adds a little more, and the detector listens for the keyed noise ' +
  'hidden underneath the words. Nothing here is said by a person.';

/** flite's synthesised speech (a real TTS voice), about 15 s at 16 kHz, resampled by the decoder to 24 kHz like a backend's output. */
const speech: PcmChunk = await (async () => {
  const decoded = await decodeAudio(fliteWav('slt', TEXT), { sampleRate: 24_000 });
  return { samples: decoded.samples, sampleRate: 24_000 };
})();

function embed(pcm: PcmChunk, chunk = 5000): PcmChunk {
  const embedder = new MarkEmbedder({ key: marks.key, payload: PAYLOAD, sampleRate: pcm.sampleRate });
  const parts: Float32Array[] = [];
  for (let i = 0; i < pcm.samples.length; i += chunk) parts.push(embedder.process(pcm.samples.subarray(i, i + chunk)));
  parts.push(embedder.flush());
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { samples: out, sampleRate: pcm.sampleRate };
}

const marked = embed(speech);

function excerpt(x: Float32Array, fromSeconds: number, seconds: number): Float32Array {
  return x.subarray(Math.round(fromSeconds * MARK_RATE), Math.round((fromSeconds + seconds) * MARK_RATE));
}

test('the embedder keeps the length, changes nothing but the mark band, and any chunking gives the same audio', () => {
  assert.equal(marked.samples.length, speech.samples.length);
  const other = embed(speech, 777);
  let diff = 0;
  for (let i = 0; i < other.samples.length; i++) diff = Math.max(diff, Math.abs(other.samples[i]! - marked.samples[i]!));
  assert.ok(diff < 1e-5, `chunking changed the output by ${diff}`);
  let mark = 0;
  let host = 0;
  for (let i = 0; i < speech.samples.length; i++) {
    mark += (marked.samples[i]! - speech.samples[i]!) ** 2;
    host += speech.samples[i]! ** 2;
  }
  const ratioDb = 10 * Math.log10(mark / host);
  assert.ok(ratioDb < -20 && ratioDb > -40, `mark-to-speech energy ${ratioDb.toFixed(1)} dB`);
});

test('the full payload comes back from 10 s and presence from 3 s, after each transformation', async () => {
  const failures: string[] = [];
  const other = (
    await decodeAudioFile(
      sharedFile(`librispeech/test-other/1998/${readdirSync(sharedFile('librispeech/test-other/1998')).find((f) => f.endsWith('.flac'))}`),
      { sampleRate: MARK_RATE },
    )
  ).samples;
  const transforms = { ...TRANSFORMS, 'mixed with another speaker': mixWith(other) };
  for (const [name, transform] of Object.entries(transforms)) {
    const heard = await transform(marked);
    // An arbitrary cut, not aligned with anything the embedder did.
    const ten = detectMark(excerpt(heard, 1.37, 10), MARK_RATE, marks.key);
    if (ten.status !== 'decoded' || ten.payload.token !== PAYLOAD.token) failures.push(`${name}: 10 s gave ${ten.status}`);
    const three = detectMark(excerpt(heard, 4.91, 3), MARK_RATE, marks.key);
    if (three.status !== 'decoded' && three.status !== 'present') failures.push(`${name}: 3 s gave ${three.status}`);
  }
  assert.deepEqual(failures, []);
});

test('an inverted copy still decodes, and another deployment key finds nothing', async () => {
  const heard = await TRANSFORMS['none']!(marked);
  const inverted = heard.map((v) => -v);
  const back = detectMark(excerpt(inverted, 0.5, 10), MARK_RATE, marks.key);
  assert.equal(back.status, 'decoded');
  const foreign = testMarks(99);
  assert.equal(detectMark(excerpt(heard, 0.5, 10), MARK_RATE, foreign.key).status, 'absent');
});

test('no mark is found in unmarked speech (the same TTS, real recordings), music or silence', async () => {
  const clean = await TRANSFORMS['none']!(speech);
  const found: string[] = [];
  const check = (name: string, x: Float32Array): void => {
    const d = detectMarkDetail(x, MARK_RATE, marks.key).detection;
    if (d.status !== 'absent' && d.status !== 'too_short') found.push(`${name}: ${d.status}`);
  };
  check('unmarked flite speech', clean);
  const allison = readdirSync(sharedFile('allison-prompts'))
    .filter((f) => f.endsWith('.wav'))
    .slice(0, 12);
  for (const f of allison) check(f, (await decodeAudioFile(sharedFile(`allison-prompts/${f}`), { sampleRate: MARK_RATE })).samples);
  const pool = readdirSync(sharedFile('librispeech/pool'))
    .filter((f) => f.endsWith('.flac'))
    .slice(0, 12);
  for (const f of pool) check(f, (await decodeAudioFile(sharedFile(`librispeech/pool/${f}`), { sampleRate: MARK_RATE })).samples);
  check('music', (await decodeAudio(lavfiWav(MUSIC_SOURCE, 12), { sampleRate: MARK_RATE })).samples);
  check('silence', new Float32Array(MARK_RATE * 5));
  assert.deepEqual(found, []);
});

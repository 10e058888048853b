import assert from 'node:assert/strict';
import { test } from 'vitest';
import { decodeAudio } from '../../src/engine/audio/decode.ts';
import { resample } from '../../src/engine/audio/resampler.ts';
import { realFftOfSize } from '../../src/engine/dsp/real-fft.ts';
import { MarkEmbedder } from '../../src/engine/watermark/mark-embedder.ts';
import { MARK_RATE } from '../../src/engine/watermark/mark-layout.ts';
import { bark, MaskingModel } from '../../src/engine/watermark/masking-threshold.ts';
import { fliteWav } from '../support/spoken-audio.ts';
import { testMarks } from '../support/test-marks.ts';

/**
 * The mark is shaped under the speech's masking threshold: checked on real TTS speech
 * with frames the embedder never used (Hann window, half a hop off its grid), and in
 * time — nothing in digital silence, nothing before a word starts.
 */
const marks = testMarks();
const SIZE = 512;
const hann = Float64Array.from({ length: SIZE }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / SIZE));
const hannSum = hann.reduce((a, b) => a + b, 0);

function powerSpectrum(x: ArrayLike<number>, start: number): Float64Array {
  const buf = new Float64Array(SIZE);
  for (let i = 0; i < SIZE; i++) buf[i] = (x[start + i] ?? 0) * hann[i]!;
  const re = new Float64Array(SIZE / 2 + 1);
  const im = new Float64Array(SIZE / 2 + 1);
  realFftOfSize(SIZE).forward(buf, re, im);
  return re.map((r, k) => r * r + im[k]! ** 2);
}

/** The speech at 24 kHz (a backend's rate) and the mark alone, both back at 16 kHz. */
function markOf(speech: Float32Array): { clean: Float32Array; mark: Float32Array } {
  const embedder = new MarkEmbedder({ key: marks.key, payload: { keyId: marks.key.keyId, token: 0x1234abcd }, sampleRate: 24_000 });
  const head = embedder.process(speech);
  const tail = embedder.flush();
  const marked = new Float32Array(head.length + tail.length);
  marked.set(head);
  marked.set(tail, head.length);
  const clean = resample(speech, 24_000, MARK_RATE);
  const heard = resample(marked, 24_000, MARK_RATE);
  return { clean, mark: heard.map((v, i) => v - clean[i]!) };
}

async function flite(text: string): Promise<Float32Array> {
  return (await decodeAudio(fliteWav('rms', text), { sampleRate: 24_000 })).samples;
}

test('in every critical band and frame the mark stays under the masked threshold of the speech (MPEG-1 model 1)', async () => {
  const { clean, mark } = markOf(
    await flite('Thank you to everyone who helped organise the quiz night on Friday; the winning team answered forty questions out of fifty.'),
  );
  const model = new MaskingModel(SIZE, MARK_RATE, hannSum);
  const threshold = new Float64Array(model.bands);
  let cells = 0;
  let above = 0;
  let ratioSum = 0;
  for (let start = SIZE / 4; start + SIZE <= clean.length; start += SIZE / 2) {
    model.maskedThreshold(powerSpectrum(clean, start), threshold);
    const noise = powerSpectrum(mark, start);
    for (let b = 0; b < model.bands; b++) {
      let e = 0;
      for (let k = model.firstBin[b]!; k <= model.lastBin[b]!; k++) e += noise[k]!;
      const ratio = e / (threshold[b]! + model.quietPower[b]!);
      cells++;
      ratioSum += ratio;
      if (ratio > 1) above++;
    }
  }
  assert.ok(cells > 2000, `only ${cells} cells`);
  assert.ok(above / cells < 0.02, `${((100 * above) / cells).toFixed(1)} % of cells above the threshold`);
  const meanDb = 10 * Math.log10(ratioSum / cells);
  assert.ok(meanDb < -6, `mean mark-to-threshold ${meanDb.toFixed(1)} dB`);
});

test('nothing of the mark in digital silence, and none before a word starts (no pre-echo)', async () => {
  const word = await flite('Seven bright windows.');
  // The word's own start, made exact: digital silence up to its first clearly audible 4 ms.
  const block = 96;
  let loud = 0;
  for (let i = 0; i + block <= word.length; i += block) loud = Math.max(loud, energy(word, i, block));
  let onsetInWord = 0;
  while (energy(word, onsetInWord, block) < loud * 1e-3) onsetInWord += block;
  const pause = 12_000;
  const speech = new Float32Array(2 * (pause + word.length - onsetInWord));
  for (const at of [pause, 2 * pause + word.length - onsetInWord]) speech.set(word.subarray(onsetInWord), at);

  const { mark } = markOf(speech);
  const ms = MARK_RATE / 1000;
  // Well inside the pauses (beyond the resamplers' and frames' reach): exactly nothing.
  const silence = mark.subarray(10 * ms, Math.round((pause * MARK_RATE) / 24_000) - 40 * ms);
  assert.equal(
    silence.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
    0,
  );
  for (const onset24k of [pause, 2 * pause + word.length - onsetInWord]) {
    const onset = Math.round((onset24k * MARK_RATE) / 24_000);
    const before = energy(mark, onset - 20 * ms, 16 * ms);
    const after = energy(mark, onset, 20 * ms);
    assert.ok(after > 0, 'the word carries the mark');
    assert.ok(before < after * 1e-4, `the 4–20 ms before the word hold ${(10 * Math.log10(before / after)).toFixed(1)} dB of the mark after it`);
  }
});

test('the masking model: noise hides better than a tone, a masker spreads upwards more than downwards, silence masks nothing', () => {
  const model = new MaskingModel(SIZE, MARK_RATE, hannSum);
  const bandAt = (hz: number): number => Math.floor(bark(hz));
  const tone = new Float32Array(SIZE).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 1000 * i) / MARK_RATE));
  let seed = 1;
  const noise = new Float32Array(SIZE).map(() => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647 - 0.5;
  });
  // White noise with the tone's power in the tone's critical band.
  const tonePower = powerSpectrum(tone, 0);
  const noisePower = powerSpectrum(noise, 0);
  const b = bandAt(1000);
  let toneBand = 0;
  let noiseBand = 0;
  for (let k = model.firstBin[b]!; k <= model.lastBin[b]!; k++) {
    toneBand += tonePower[k]!;
    noiseBand += noisePower[k]!;
  }
  for (let k = 0; k < noisePower.length; k++) noisePower[k] = (noisePower[k]! * toneBand) / noiseBand;
  const underTone = new Float64Array(model.bands);
  const underNoise = new Float64Array(model.bands);
  model.maskedThreshold(tonePower, underTone);
  model.maskedThreshold(noisePower, underNoise);
  assert.ok(underNoise[b]! > 2 * underTone[b]!, `noise hides ${(10 * Math.log10(underNoise[b]! / underTone[b]!)).toFixed(1)} dB more than a tone`);
  assert.ok(underTone[b + 2]! > 10 * underTone[b - 2]!, 'a tone masks two Bark above it more than two Bark below');
  const quiet = new Float64Array(model.bands);
  model.maskedThreshold(new Float64Array(SIZE / 2 + 1), quiet);
  assert.ok(quiet.every((v) => v === 0));
  assert.ok(model.quietPower.every((v) => v > 0));
});

function energy(x: Float32Array, from: number, length: number): number {
  let s = 0;
  for (let i = Math.max(0, from); i < Math.min(x.length, from + length); i++) s += x[i]! ** 2;
  return s;
}

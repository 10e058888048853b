import assert from 'node:assert/strict';
import { test } from 'vitest';
import { decodeAudioFile } from '../../src/engine/audio/decode.ts';
import type { DecodedAudio } from '../../src/engine/audio/decode.ts';
import { judgeSample } from '../../src/engine/audio/quality-verdict.ts';
import type { SampleVerdict } from '../../src/engine/audio/quality-verdict.ts';
import { assembleSample } from '../../src/engine/audio/sample-assembly.ts';
import type { ClipInput } from '../../src/engine/audio/sample-assembly.ts';
import { localeFrom, t } from '../../src/i18n/catalogue.ts';
import { renderProblem, renderProgress } from '../../src/i18n/sample-messages.ts';
import { AudioSampleIntake } from '../../src/core/audio-sample-intake.ts';
import { denoiseWhereItHelps } from '../../src/engine/audio/denoise.ts';
import { analyseSample } from '../../src/engine/audio/sample-analysis.ts';
import { detectSpeech } from '../../src/engine/audio/vad.ts';
import { encodeWav } from '../../src/engine/audio/wav.ts';
import type { PcmChunk } from '../../src/engine/pcm.ts';
import { speakerFiles, tone } from './fixtures.ts';
import { babble, mixAtSnr, music, pinkNoise, whiteNoise } from './noise.ts';

const OPTIONS = { targetSpeechSeconds: 60, minSampleRate: 16000 };
const clips: DecodedAudio[] = [];
for (const file of speakerFiles('3331')) clips.push(await decodeAudioFile(file, { sampleRate: 16000 }));

async function verdictOf(input: readonly ClipInput[]): Promise<SampleVerdict> {
  const sample = await assembleSample(input, { sampleRate: 16000 });
  return judgeSample(sample.analysis, OPTIONS);
}

function codes(v: SampleVerdict): string[] {
  return v.problems.map((p) => p.code).sort();
}

test('accepts ≥ 60 s of a LibriSpeech speaker; slices are 2–10 s', async () => {
  const sample = await assembleSample(clips, { sampleRate: 16000 });
  const verdict = judgeSample(sample.analysis, OPTIONS);
  assert.deepEqual(verdict.problems, []);
  assert.ok(verdict.accepted && verdict.netSpeechSeconds >= 60);
  assert.ok(sample.slices.length >= 6);
  for (const s of sample.slices) assert.ok(s.end - s.start >= 2 && s.end - s.start <= 10.4, `slice of ${s.end - s.start} s`);
  // Long pauses trimmed: the assembled audio is shorter than the joined clips but keeps the speech.
  assert.ok(sample.pcm.samples.length / 16000 < sample.analysis.totalSeconds);
});

test('rejects the same audio with clipping', async () => {
  const clipped = clips.map((c) => ({ ...c, samples: c.samples.map((v) => Math.max(-1, Math.min(1, v * 12))) }));
  assert.deepEqual(codes(await verdictOf(clipped)), ['clipping']);
});

test('rejects the same audio with heavy noise', async () => {
  let seed = 1;
  const noise = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return (seed / 2147483648) * 2 - 1;
  };
  const noisy = clips.map((c) => ({ ...c, samples: c.samples.map((v) => v + 0.06 * noise()) }));
  assert.ok(codes(await verdictOf(noisy)).includes('noisy'));
});

test('rejects 20 s of it for too little speech, with progress in English and Chinese', async () => {
  const short: ClipInput[] = [];
  let total = 0;
  for (const c of clips) {
    const take = Math.min(c.samples.length, 20 * 16000 - total);
    if (take <= 0) break;
    short.push({ samples: c.samples.subarray(0, take), sampleRate: 16000 });
    total += take;
  }
  const verdict = await verdictOf(short);
  assert.deepEqual(codes(verdict), ['not_enough_speech']);
  const problem = verdict.problems[0];
  assert.ok(problem);
  const net = Math.floor(verdict.netSpeechSeconds);
  assert.equal(renderProgress('en', verdict), `Recorded ${net} of 60 s of speech.`);
  assert.equal(renderProgress('zh', verdict), `已录 ${net} / 60 秒语音。`);
  assert.match(renderProblem('en', problem).reason, new RegExp(`${net} of 60 s`));
  assert.match(renderProblem(localeFrom('zh-CN'), problem).reason, new RegExp(`已录 ${net} / 60 秒`));
});

test('8 kHz source is refused for its sample rate; music and silence for lack of speech', async () => {
  const narrow = await verdictOf(clips.map((c) => ({ ...c, sourceSampleRate: 8000 })));
  assert.deepEqual(codes(narrow), ['low_sample_rate']);
  const chord = new Float32Array(16000 * 30);
  for (const f of [261.6, 329.6, 392, 523.3]) {
    const t1 = tone(f, 16000, 30, 0.15);
    for (let i = 0; i < chord.length; i++) chord[i] = (chord[i] ?? 0) + (t1[i] ?? 0) * (0.6 + 0.4 * Math.sin(i / 4000));
  }
  const music = await verdictOf([{ samples: chord, sampleRate: 16000 }]);
  assert.ok(codes(music).includes('not_enough_speech') && codes(music).includes('mostly_non_speech'));
  const silence = await verdictOf([{ samples: new Float32Array(16000 * 10), sampleRate: 16000 }]);
  assert.deepEqual(codes(silence), ['not_enough_speech', 'silent'], 'silence has its own reason, not "mostly not speech"');
  // A quiet room (no speech, but a recorded background at −50 dBFS) is not "silent".
  const room = await verdictOf([{ samples: Float32Array.from({ length: 16000 * 10 }, (_, i) => Math.sin(i * 12.9898) * 0.0045), sampleRate: 16000 }]);
  assert.ok(!codes(room).includes('silent'), codes(room).join(', '));
});

test('every problem has a reason and advice in both locales', () => {
  for (const code of ['not_enough_speech', 'clipping', 'too_quiet', 'noisy', 'mostly_non_speech', 'silent', 'low_sample_rate'] as const) {
    for (const locale of ['en', 'zh'] as const) {
      const r = renderProblem(locale, { code, figures: { netSpeechSeconds: 38, targetSpeechSeconds: 60 } });
      assert.ok(r.reason.length > 5 && r.advice.length > 5 && !r.reason.includes('{'));
    }
  }
  assert.equal(localeFrom('zh-TW'), 'zh');
  assert.equal(localeFrom('en-GB'), 'en');
  assert.equal(localeFrom(undefined), 'en');
  assert.equal(t('en', 'sample.progress', { net: 38, target: 60 }), 'Recorded 38 of 60 s of speech.');
});

// --- Noise calibration on real speech: steady noise is denoised and passes; voices, music and heavy noise do not.

const CLIP_OPTIONS = { targetSpeechSeconds: 0, minSampleRate: 16000 };

async function firstClip(speaker: string): Promise<PcmChunk> {
  const file = speakerFiles(speaker)[0]!;
  const decoded = await decodeAudioFile(file, { sampleRate: 16000 });
  return { samples: decoded.samples, sampleRate: 16000 };
}

async function judgedClip(pcm: PcmChunk) {
  const vad = await detectSpeech(pcm);
  const recorded = analyseSample(pcm, vad, pcm.sampleRate);
  const cleaned = await denoiseWhereItHelps(pcm, vad, recorded);
  return { recorded, cleaned, verdict: judgeSample(cleaned.analysis, CLIP_OPTIONS) };
}

test('steady noise mixed into real speech at 12–14 dB SNR (the refused case) is denoised and accepted', async () => {
  const cases = [
    { speaker: '1688', noise: 'white', snr: 12 },
    { speaker: '2414', noise: 'pink', snr: 13 },
    { speaker: '3331', noise: 'pink', snr: 12 },
    { speaker: '367', noise: 'white', snr: 14 },
  ] as const;
  for (const c of cases) {
    const clean = await firstClip(c.speaker);
    const noise = c.noise === 'white' ? whiteNoise(clean.samples.length, 7) : pinkNoise(clean.samples.length, 7);
    const { recorded, cleaned, verdict } = await judgedClip(await mixAtSnr(clean, noise, c.snr));
    const label = `${c.speaker} + ${c.noise} at ${c.snr} dB`;
    assert.ok(
      judgeSample(recorded, CLIP_OPTIONS).problems.some((p) => p.code === 'noisy'),
      `${label}: refused as recorded (${recorded.snrDb.toFixed(1)} dB)`,
    );
    assert.deepEqual(verdict.problems, [], `${label}: accepted after denoising (${cleaned.analysis.snrDb.toFixed(1)} dB)`);
    assert.equal(cleaned.analysis.denoising?.applied, true, label);
    assert.ok(cleaned.analysis.snrDb >= 15 && cleaned.analysis.snrDb > recorded.snrDb + 3, label);
  }
});

test('the intake keeps the denoised clip, not the noisy one', async () => {
  const clean = await firstClip('3331');
  const noisy = await mixAtSnr(clean, pinkNoise(clean.samples.length, 3), 13);
  const clip = await new AudioSampleIntake().analyseClip(
    encodeWav(noisy, 16),
    { name: 't', description: '', languages: ['en'], targetSpeechSeconds: 45, minSampleRate: 16000 },
    0,
  );
  assert.equal(clip.accepted, true, JSON.stringify(clip.verdict.problems));
  const vad = await detectSpeech(clip.pcm);
  assert.ok(analyseSample(clip.pcm, vad, 48000).snrDb >= 15, 'the stored audio is the denoised one');
});

test('voices and music behind the speaker are refused with advice; really noisy input is not even denoised', async () => {
  for (const speaker of ['1688', '3005']) {
    const clean = await firstClip(speaker);
    for (const [name, background] of [
      ['babble', await babble(clean.samples.length, 16000, 6, 5)],
      ['music', music(clean.samples.length, 16000)],
    ] as const) {
      const { cleaned, verdict } = await judgedClip(await mixAtSnr(clean, background, 8));
      const noisy = verdict.problems.find((p) => p.code === 'noisy');
      assert.ok(noisy, `${speaker} + ${name} at 8 dB is refused (${cleaned.analysis.snrDb.toFixed(1)} dB)`);
      assert.equal(noisy.figures['background'], 1, `${speaker} + ${name}: recognised as voices or music`);
      assert.equal(cleaned.analysis.denoising, undefined, 'not denoised: a denoiser would only distort the speech');
      assert.match(renderProblem('en', noisy).advice, /Other voices or music/);
      assert.match(renderProblem('en', noisy).reason, new RegExp(`only ${noisy.figures['snrDb']} dB above it \\(15 dB needed\\)`));
    }
    const { recorded, cleaned, verdict } = await judgedClip(await mixAtSnr(clean, whiteNoise(clean.samples.length, 9), 5));
    assert.ok(recorded.snrDb < 10 && verdict.problems.some((p) => p.code === 'noisy'), `${speaker} + white noise at 5 dB is refused`);
    assert.equal(cleaned.analysis.denoising, undefined);
  }
});

test('near the target the advice counts sentences: one more sentence', () => {
  const advice = (net: number, target: number, locale: 'en' | 'zh' = 'en') =>
    renderProblem(locale, { code: 'not_enough_speech', figures: { netSpeechSeconds: net, targetSpeechSeconds: target } }).advice;
  assert.match(advice(43, 45), /^One more sentence will do/);
  assert.match(advice(43, 45, 'zh'), /^再读一句就够了/);
  assert.match(advice(51, 60), /^About 4 more sentences will do/);
  assert.match(advice(10, 45), /^Keep reading the script aloud/);
  assert.equal(
    renderProblem('en', { code: 'not_enough_speech', figures: { netSpeechSeconds: 43, targetSpeechSeconds: 45 } }).reason,
    'Not enough speech yet: 43 of 45 s.',
  );
});

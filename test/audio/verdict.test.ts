import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAudioFile } from '../../src/engine/audio/decode.ts';
import type { DecodedAudio } from '../../src/engine/audio/decode.ts';
import { judgeSample } from '../../src/engine/audio/quality-verdict.ts';
import type { SampleVerdict } from '../../src/engine/audio/quality-verdict.ts';
import { assembleSample } from '../../src/engine/audio/sample-assembly.ts';
import type { ClipInput } from '../../src/engine/audio/sample-assembly.ts';
import { localeFrom, t } from '../../src/i18n/catalogue.ts';
import { renderProblem, renderProgress } from '../../src/i18n/sample-messages.ts';
import { speakerFiles, tone } from './fixtures.ts';

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
  const noise = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
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
  assert.ok(!silence.accepted && codes(silence).includes('not_enough_speech'));
});

test('every problem has a reason and advice in both locales', () => {
  for (const code of ['not_enough_speech', 'clipping', 'too_quiet', 'noisy', 'mostly_non_speech', 'low_sample_rate'] as const) {
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

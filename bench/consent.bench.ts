import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../src/config/config.ts';
import { decodeAudioFile } from '../src/engine/audio/decode.ts';
import type { PcmChunk } from '../src/engine/pcm.ts';
import { GmmUbmSpeakerModel } from '../src/engine/speaker/gmm-ubm-model.ts';
import { speakerFeatures } from '../src/engine/speaker/mfcc.ts';
import { recognitionFigures } from './consent-recognition.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * `npm run bench -- consent`: how well consent verification tells people apart and hears
 * the statement, on real speech in ../shared/data.
 *
 * Speaker verification: the 7 LibriSpeech test-other speakers are the targets. Each test
 * segment (3 s or 10 s) is scored against 60 s of the same speaker's other speech (target
 * trials) and against every other target's 60 s (impostor trials); the 63 pool speakers the
 * background model did not see (models/speaker-ubm.json lists the 63 it did) are impostors
 * against every target.
 */
const DATA = resolve(import.meta.dirname, '..', '..', 'shared', 'data');
const TARGETS = ['1688', '1998', '2033', '2414', '3005', '3331', '367'];
const RATE = 16_000;
const ENROL_SECONDS = 60;

const suite: BenchSuite = {
  name: 'consent',
  async run({ args }) {
    const model = await GmmUbmSpeakerModel.load();
    // `--speaker-only`: skip the (slower) recognition figures when tuning the speaker model.
    const recognition = args.includes('--speaker-only') ? [] : await recognitionFigures(DATA);
    return [...recognition, ...(await speakerFigures(model))];
  },
};
export default suite;

async function speakerFigures(model: GmmUbmSpeakerModel): Promise<BenchFigure[]> {
  const speech = new Map<string, Float32Array>();
  for (const id of TARGETS) speech.set(id, await joined(readdirSync(`${DATA}/librispeech/test-other/${id}`).filter((f) => f.endsWith('.flac')).sort().map((f) => `${DATA}/librispeech/test-other/${id}/${f}`)));
  const manifest = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', 'models', 'speaker-ubm.json'), 'utf8')) as { trainedOn: { speakers: string[] } };
  const seen = new Set(manifest.trainedOn.speakers);
  const poolDir = `${DATA}/librispeech/pool`;
  const unseen = readdirSync(poolDir).filter((f) => f.endsWith('.flac') && !seen.has(f.split('-')[0] ?? ''));
  if (unseen.length < 50) throw new Error(`expected ~63 pool speakers unseen by the background model, found ${unseen.length}`);
  // One decode at a time: dozens of ffmpeg processes at once on a busy machine run into the decode time limit.
  const impostorAudio: Float32Array[] = [];
  for (const f of unseen) impostorAudio.push((await decodeAudioFile(`${poolDir}/${f}`, { sampleRate: RATE })).samples);

  const figures: BenchFigure[] = [];
  const results = new Map<string, { targets: number[]; impostors: number[] }>();
  // 60 s: a whole sample. 10 s: the consent reading alone, what the first clip after it meets.
  for (const [enrolSeconds, seconds] of [[ENROL_SECONDS, 3], [ENROL_SECONDS, 10], [10, 3], [10, 10]] as const) {
    const label = `${seconds} s vs ${enrolSeconds} s`;
    // Each target's own enrolment (the start of their speech), used against impostors.
    const enrolments = new Map<string, Uint8Array>();
    for (const [id, samples] of speech) enrolments.set(id, model.enrolFeatures(speakerFeatures(pcm(samples.subarray(0, enrolSeconds * RATE)))));
    const length = seconds * RATE;
    const targets: number[] = [];
    const impostors: number[] = [];
    for (const [id, samples] of speech) {
      // Segments across the whole recording; each is scored against an enrolment made from the rest.
      for (let start = 0; start + length <= samples.length; start += length) {
        const segment = pcm(samples.subarray(start, start + length));
        const rest = new Float32Array(samples.length - length);
        rest.set(samples.subarray(0, start));
        rest.set(samples.subarray(start + length), start);
        const enrolment = model.enrolFeatures(speakerFeatures(pcm(rest.subarray(0, enrolSeconds * RATE))));
        const features = speakerFeatures(segment);
        targets.push(model.scoreFeatures(enrolment, features).score);
        for (const [other, otherEnrolment] of enrolments) if (other !== id) impostors.push(model.scoreFeatures(otherEnrolment, features).score);
      }
    }
    for (const samples of impostorAudio) {
      for (let start = 0; start + length <= samples.length; start += length) {
        const features = speakerFeatures(pcm(samples.subarray(start, start + length)));
        for (const enrolment of enrolments.values()) impostors.push(model.scoreFeatures(enrolment, features).score);
      }
    }
    results.set(label, { targets, impostors });
    const eer = equalErrorRate(targets, impostors);
    figures.push(
      { metric: `speaker EER, ${label}`, value: eer.rate * 100, unit: '%', ...(seconds === 10 && enrolSeconds === ENROL_SECONDS ? { target: '<= 5 %' } : {}) },
      { metric: `speaker EER threshold, ${label}`, value: eer.threshold, unit: 'LLR' },
      { metric: `speaker trials, ${label}`, value: targets.length, unit: `target / ${impostors.length} impostor` },
    );
  }
  // The operating point: the configured threshold (VOCALIS_SPEAKER_THRESHOLD or its default).
  const threshold = loadConfig(process.env).consentVerification.speakerThreshold;
  for (const [label, r] of results) {
    figures.push(
      { metric: `speaker false accept at ${threshold}, ${label}`, value: (100 * r.impostors.filter((s) => s >= threshold).length) / r.impostors.length, unit: '%' },
      { metric: `speaker false reject at ${threshold}, ${label}`, value: (100 * r.targets.filter((s) => s < threshold).length) / r.targets.length, unit: '%' },
    );
  }

  // Time to verify a 10 s clip as it arrives (48 kHz: resampling, features, score) on this one core.
  const owner = speech.get('3331')!;
  const enrolment = model.enrolFeatures(speakerFeatures(pcm(owner.subarray(0, ENROL_SECONDS * RATE))));
  const clip = owner.subarray(ENROL_SECONDS * RATE, (ENROL_SECONDS + 10) * RATE);
  const clip48 = { samples: Float32Array.from({ length: 10 * 48_000 }, (_, i) => clip[Math.floor(i / 3)] ?? 0), sampleRate: 48_000 };
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await model.score(enrolment, clip48);
    best = Math.min(best, performance.now() - t0);
  }
  figures.push({ metric: 'verify a 10 s clip (48 kHz in)', value: best / 1000, unit: 's', target: '<= 1 s on one core' });
  return figures;
}

function pcm(samples: Float32Array): PcmChunk {
  return { samples, sampleRate: RATE };
}

async function joined(files: readonly string[]): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (const f of files) parts.push((await decodeAudioFile(f, { sampleRate: RATE })).samples);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The point where false accepts and false rejects are equal, found over every observed score. */
export function equalErrorRate(targets: readonly number[], impostors: readonly number[]): { rate: number; threshold: number } {
  const candidates = [...targets, ...impostors].sort((a, b) => a - b);
  let best = { rate: 1, threshold: 0, gap: Infinity };
  for (const threshold of candidates) {
    const fr = targets.filter((s) => s < threshold).length / targets.length;
    const fa = impostors.filter((s) => s >= threshold).length / impostors.length;
    const gap = Math.abs(fr - fa);
    if (gap < best.gap) best = { rate: (fr + fa) / 2, threshold, gap };
  }
  return { rate: best.rate, threshold: best.threshold };
}

import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../src/config/config.ts';
import { decodeAudioFile } from '../src/engine/audio/decode.ts';
import type { PcmChunk } from '../src/engine/pcm.ts';
import { GmmUbmSpeakerModel } from '../src/engine/speaker/gmm-ubm-model.ts';
import { speakerFeatures, type SpeakerFeatures } from '../src/engine/speaker/mfcc.ts';
import { OnnxEmbeddingSpeakerModel, type ClipEmbedding } from '../src/engine/speaker/onnx-embedding-model.ts';
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
 * against every target. `--speaker-onnx PATH` runs the same trials through an ONNX
 * speaker-embedding model (its calibration measured here and printed).
 */
const DATA = resolve(import.meta.dirname, '..', '..', 'shared', 'data');
const TARGETS = ['1688', '1998', '2033', '2414', '3005', '3331', '367'];
const RATE = 16_000;
const ENROL_SECONDS = 60;

const suite: BenchSuite = {
  name: 'consent',
  async run({ args }) {
    const gmm = await GmmUbmSpeakerModel.load();
    // `--speaker-only`: skip the (slower) recognition figures when tuning the speaker model.
    const recognition = args.includes('--speaker-only') ? [] : await recognitionFigures(DATA);
    const speech = await benchSpeech();
    const figures = [...recognition, ...(await speakerFigures(gmmSystem(gmm), speech))];
    // `--speaker-onnx PATH [--speaker-onnx-features fbank80|mel40…] [--speaker-onnx-window FRAMES]`:
    // the same trials through an ONNX speaker-embedding model, next to the GMM-UBM.
    const onnxPath = flagValue(args, '--speaker-onnx');
    if (onnxPath) figures.push(...(await speakerFigures(await onnxSystem(onnxPath, args), speech)));
    return figures;
  },
};
export default suite;

/**
 * One speaker model as the benchmark drives it: features of a clip computed once, an
 * enrolment, a score. `calibrate` turns the raw scores into the scale the threshold is on
 * (the GMM-UBM's are already; an ONNX model's cosines are calibrated from these trials).
 */
interface SpeakerSystem<E, F> {
  readonly label: string;
  readonly unit: string;
  features(pcm: PcmChunk): Promise<F>;
  enrol(pcm: PcmChunk): Promise<E>;
  /** A voiceprint from the first `seconds` of these clips, as a sample grows clip by clip. */
  enrolClips(clips: readonly Segment<F>[], seconds: number): Promise<E>;
  score(enrolment: E, features: F): number;
  calibrate(trials: ReadonlyMap<string, Trials>): { map: (score: number) => number; figures: BenchFigure[] };
  /** A 10 s clip at 48 kHz scored as it arrives (resampling, features, score). */
  verify(enrolment: E, clip: PcmChunk): Promise<number>;
}

interface Segment<F> {
  readonly pcm: PcmChunk;
  readonly features: F;
}

interface Trials {
  readonly targets: number[];
  readonly impostors: number[];
}

function gmmSystem(model: GmmUbmSpeakerModel): SpeakerSystem<Uint8Array, SpeakerFeatures> {
  return {
    label: 'speaker',
    unit: 'LLR',
    features: async (clip) => speakerFeatures(clip),
    enrol: async (clip) => model.enrolFeatures(speakerFeatures(clip)),
    // The statistics are additive, so the concatenation is the same voiceprint as folding clip by clip.
    enrolClips: async (clips, seconds) => model.enrolFeatures(speakerFeatures(pcm(joinedSamples(clips.map((c) => c.pcm.samples)).subarray(0, seconds * RATE)))),
    score: (enrolment, features) => model.scoreFeatures(enrolment, features).score,
    calibrate: () => ({ map: (score) => score, figures: [] }),
    verify: async (enrolment, clip) => (await model.score(enrolment, clip)).score,
  };
}

async function onnxSystem(path: string, args: readonly string[]): Promise<SpeakerSystem<Uint8Array, ClipEmbedding>> {
  const features = /^(fbank|mel)(\d+)$/.exec(flagValue(args, '--speaker-onnx-features') ?? 'fbank80');
  if (!features) throw new Error('--speaker-onnx-features: fbank<bins> or mel<bins>');
  const windowFrames = Number(flagValue(args, '--speaker-onnx-window') ?? 0);
  const label = `ONNX speaker (${features[0]}, window ${windowFrames || 'whole'})`;
  // Identity calibration: the scores are the raw cosines, calibrated below from the trials.
  const model = await OnnxEmbeddingSpeakerModel.load({
    path,
    features: { kind: features[1] as 'fbank' | 'mel', melBins: Number(features[2]) },
    windowFrames,
    calibration: { impostor: 0, target: 1 },
  });
  return {
    label,
    unit: 'calibrated cosine',
    features: (clip) => model.embed(clip),
    enrol: (clip) => model.enrol(clip),
    // Each clip's embedding is computed once and folded in (as the product grows a voiceprint);
    // re-embedding every 60 s enrolment would take hours on a shared machine.
    async enrolClips(clips, seconds) {
      let voiceprint: Uint8Array | undefined;
      let covered = 0;
      for (const clip of clips) {
        const left = seconds * RATE - covered;
        if (left <= 0) break;
        const whole = clip.pcm.samples.length <= left;
        const embedding = whole ? clip.features : await model.embed(pcm(clip.pcm.samples.subarray(0, left)));
        voiceprint = model.enrolEmbedding(embedding, voiceprint);
        covered += Math.min(left, clip.pcm.samples.length);
      }
      return voiceprint ?? model.enrol(pcm(new Float32Array(0)));
    },
    score: (enrolment, embedding) => model.scoreEmbedding(enrolment, embedding).score,
    calibrate(trials) {
      // The anchors VOCALIS_SPEAKER_ONNX_CALIBRATION takes: median cosines of the trials against 60 s.
      const against60 = [...trials].filter(([label]) => label.endsWith(`vs ${ENROL_SECONDS} s`)).map(([, t]) => t);
      const impostor = round3(median(against60.flatMap((t) => t.impostors)));
      const target = round3(median(against60.flatMap((t) => t.targets)));
      return {
        map: (cos) => (cos - impostor) / (target - impostor),
        figures: [
          { metric: `${label} model, sha256 ${model.info.version.slice(0, 12)}…`, value: model.dims, unit: 'dims' },
          { metric: `${label} calibration: median impostor cosine (VOCALIS_SPEAKER_ONNX_CALIBRATION first)`, value: impostor, unit: 'cosine' },
          { metric: `${label} calibration: median target cosine (second)`, value: target, unit: 'cosine' },
        ],
      };
    },
    verify: async (enrolment, clip) => (await model.score(enrolment, clip)).score,
  };
}

interface BenchSpeech {
  readonly targets: Map<string, Float32Array>;
  readonly impostors: Float32Array[];
}

async function benchSpeech(): Promise<BenchSpeech> {
  const targets = new Map<string, Float32Array>();
  for (const id of TARGETS)
    targets.set(
      id,
      await joined(
        readdirSync(`${DATA}/librispeech/test-other/${id}`)
          .filter((f) => f.endsWith('.flac'))
          .sort()
          .map((f) => `${DATA}/librispeech/test-other/${id}/${f}`),
      ),
    );
  const manifest = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', 'models', 'speaker-ubm.json'), 'utf8')) as { trainedOn: { speakers: string[] } };
  const seen = new Set(manifest.trainedOn.speakers);
  const poolDir = `${DATA}/librispeech/pool`;
  const unseen = readdirSync(poolDir).filter((f) => f.endsWith('.flac') && !seen.has(f.split('-')[0] ?? ''));
  if (unseen.length < 50) throw new Error(`expected ~63 pool speakers unseen by the background model, found ${unseen.length}`);
  // One decode at a time: dozens of ffmpeg processes at once on a busy machine run into the decode time limit.
  const impostors: Float32Array[] = [];
  for (const f of unseen) impostors.push((await decodeAudioFile(`${poolDir}/${f}`, { sampleRate: RATE })).samples);
  return { targets, impostors };
}

async function speakerFigures<E, F>(system: SpeakerSystem<E, F>, { targets: speech, impostors: impostorAudio }: BenchSpeech): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  const results = new Map<string, Trials>();
  // Features of each test segment, computed once for both enrolment lengths.
  const cache = new Map<string, Promise<F>>();
  const featuresOf = (key: string, clip: PcmChunk) => {
    if (!cache.has(key)) cache.set(key, system.features(clip));
    return cache.get(key)!;
  };
  // 60 s: a whole sample. 10 s: the consent reading alone, what the first clip after it meets.
  for (const [enrolSeconds, seconds] of [
    [ENROL_SECONDS, 3],
    [ENROL_SECONDS, 10],
    [10, 3],
    [10, 10],
  ] as const) {
    const label = `${seconds} s vs ${enrolSeconds} s`;
    // Each target's own enrolment (the start of their speech), used against impostors.
    const enrolments = new Map<string, E>();
    for (const [id, samples] of speech) enrolments.set(id, await system.enrol(pcm(samples.subarray(0, enrolSeconds * RATE))));
    const length = seconds * RATE;
    const targets: number[] = [];
    const impostors: number[] = [];
    for (const [id, samples] of speech) {
      // Segments across the whole recording; each is scored against an enrolment made from the rest
      // (the other segments in order, then the tail shorter than a segment).
      const segments: Segment<F>[] = [];
      for (let start = 0; start + length <= samples.length; start += length) {
        const segment = pcm(samples.subarray(start, start + length));
        segments.push({ pcm: segment, features: await featuresOf(`${id}:${start}:${length}`, segment) });
      }
      const tail = samples.subarray(segments.length * length);
      for (const [index, segment] of segments.entries()) {
        const rest = segments.filter((_, i) => i !== index);
        if (tail.length > 0) rest.push({ pcm: pcm(tail), features: await featuresOf(`${id}:tail:${length}`, pcm(tail)) });
        const enrolment = await system.enrolClips(rest, enrolSeconds);
        targets.push(system.score(enrolment, segment.features));
        for (const [other, otherEnrolment] of enrolments) if (other !== id) impostors.push(system.score(otherEnrolment, segment.features));
      }
    }
    for (const [n, samples] of impostorAudio.entries()) {
      for (let start = 0; start + length <= samples.length; start += length) {
        const features = await featuresOf(`pool${n}:${start}:${length}`, pcm(samples.subarray(start, start + length)));
        for (const enrolment of enrolments.values()) impostors.push(system.score(enrolment, features));
      }
    }
    results.set(label, { targets, impostors });
    process.stderr.write(`  consent bench: ${system.label}, ${label}: ${targets.length} target / ${impostors.length} impostor trials\n`);
  }
  const calibration = system.calibrate(results);
  figures.push(...calibration.figures);
  for (const [label, raw] of results) {
    const r = { targets: raw.targets.map(calibration.map), impostors: raw.impostors.map(calibration.map) };
    results.set(label, r);
    const eer = equalErrorRate(r.targets, r.impostors);
    figures.push(
      { metric: `${system.label} EER, ${label}`, value: eer.rate * 100, unit: '%', ...(label === `10 s vs ${ENROL_SECONDS} s` ? { target: '<= 5 %' } : {}) },
      { metric: `${system.label} EER threshold, ${label}`, value: eer.threshold, unit: system.unit },
      { metric: `${system.label} trials, ${label}`, value: r.targets.length, unit: `target / ${r.impostors.length} impostor` },
    );
  }
  // The operating point: the configured threshold (VOCALIS_SPEAKER_THRESHOLD or its default).
  const threshold = loadConfig(process.env).consentVerification.speakerThreshold;
  for (const [label, r] of results) {
    figures.push(
      {
        metric: `${system.label} false accept at ${threshold}, ${label}`,
        value: (100 * r.impostors.filter((s) => s >= threshold).length) / r.impostors.length,
        unit: '%',
      },
      {
        metric: `${system.label} false reject at ${threshold}, ${label}`,
        value: (100 * r.targets.filter((s) => s < threshold).length) / r.targets.length,
        unit: '%',
      },
    );
  }

  // Time to verify a 10 s clip as it arrives (48 kHz: resampling, features, score) on this one core.
  const owner = speech.get('3331')!;
  const enrolment = await system.enrol(pcm(owner.subarray(0, ENROL_SECONDS * RATE)));
  const clip = owner.subarray(ENROL_SECONDS * RATE, (ENROL_SECONDS + 10) * RATE);
  const clip48 = { samples: Float32Array.from({ length: 10 * 48_000 }, (_, i) => clip[Math.floor(i / 3)] ?? 0), sampleRate: 48_000 };
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await system.verify(enrolment, clip48);
    best = Math.min(best, performance.now() - t0);
  }
  figures.push({ metric: `${system.label}: verify a 10 s clip (48 kHz in)`, value: best / 1000, unit: 's', target: '<= 1 s on one core' });
  return figures;
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function pcm(samples: Float32Array): PcmChunk {
  return { samples, sampleRate: RATE };
}

async function joined(files: readonly string[]): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (const f of files) parts.push((await decodeAudioFile(f, { sampleRate: RATE })).samples);
  return joinedSamples(parts);
}

function joinedSamples(parts: readonly Float32Array[]): Float32Array {
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

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AudioSampleIntake } from '../src/core/audio-sample-intake.ts';
import { encodeWav } from '../src/engine/audio/wav.ts';
import { createClassicBackend, type ClassicBackend } from '../src/engine/backends/classic/index.ts';
import { cosineSimilarity, speakerEmbedding } from '../src/engine/features/metrics.ts';
import { baseVoiceById, renderBase } from '../src/engine/backends/classic/render.ts';
import { transcribe } from '../src/engine/recognition/transcribe.ts';
import type { PcmChunk } from '../src/engine/pcm.ts';
import { dataPath, fineTuneContext, MemoryFiles, MemorySample, speakAll } from '../test/backends/classic/helpers.ts';
import { EVALUATION_SENTENCES, TRAINING_SENTENCES } from '../test/backends/classic/sentences.ts';
import { mixAtSnr, pinkNoise } from '../test/audio/noise.ts';
import type { BenchFigure } from './types.ts';

/**
 * The classic backend on LibriSpeech test-other speakers, who read their own
 * books, never our script — the case of everyone who just talks:
 *
 * - completion: each speaker's clips go through the real intake (decode, VAD,
 *   denoise where it helps, verdict) until the sample is complete; also with
 *   pink noise mixed into every clip at 13 dB SNR;
 * - fine-tune on the completed sample (no script: the recogniser's transcript
 *   path, else statistics), and, for comparison, statistics only;
 * - likeness: cosine between Resemblyzer speaker embeddings (a neural model the
 *   backend never sees) of the speaker's held-out clips and of eight sentences
 *   rendered by the base voice unconverted, converted (the default differential
 *   rendering), converted with the former vocoder rendering (same model), and
 *   statistics-only;
 * - intelligibility: pocketsphinx word error rate of the converted speech (both
 *   renderings) and of the unconverted base voice on the same text;
 * - the log-mel statistics similarity of metrics.ts, labelled as near-circular:
 *   the conversion matches exactly such statistics.
 */
export const LIBRISPEECH_SPEAKERS = ['1688', '1998', '2033', '2414', '3005', '3331', '367'] as const;
const EVALUATION_TEXT = [...EVALUATION_SENTENCES, ...TRAINING_SENTENCES.slice(14, 18)].join(' ');
const never = new AbortController().signal;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface SpeakerRun {
  readonly speaker: string;
  readonly completed: boolean;
  readonly completedWithNoise: boolean;
  readonly netSpeech: number;
  readonly path: number;
  readonly wavs: Record<'real' | 'sample' | 'converted' | 'vocoder' | 'statistics' | 'base', string>;
  readonly werConverted: number;
  readonly werVocoder: number;
  readonly werBase: number;
  readonly logMel: { converted: number; base: number };
}

async function completeSample(intake: AudioSampleIntake, backend: ClassicBackend, files: readonly string[], noisy: boolean) {
  const clips: PcmChunk[] = [];
  let speech = 0;
  let used = 0;
  for (const file of files) {
    used++;
    let bytes: Uint8Array = readFileSync(file);
    if (noisy) {
      const clean = await intake.analyseClip(bytes, backend.info, 0);
      const mixed = await mixAtSnr(clean.pcm, pinkNoise(clean.pcm.samples.length, used), 13);
      bytes = encodeWav(mixed, 16);
    }
    const clip = await intake.analyseClip(bytes, backend.info, speech);
    if (!clip.accepted) continue;
    clips.push(clip.pcm);
    speech = clip.verdict.netSpeechSeconds;
    if (clip.verdict.accepted) return { completed: true, clips, used, speech };
  }
  return { completed: false, clips, used, speech };
}

async function trainVoice(trainer: ClassicBackend, pcm: Float32Array) {
  const files = new MemoryFiles();
  const { context } = fineTuneContext(new MemorySample(pcm, null), files);
  const result = await trainer.fineTune(context);
  const voice = await trainer.loadVoice(files, never);
  const model = JSON.parse(new TextDecoder().decode(await files.read('classic-model.json'))) as { baseVoice: string };
  return { voice, files, metrics: result.metrics, baseVoice: model.baseVoice };
}

function wordErrorRate(reference: string, heard: readonly string[]): number {
  const ref = reference
    .toLowerCase()
    .replace(/[^a-z' ]+/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
  let prev = Array.from({ length: heard.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i];
    for (let j = 1; j <= heard.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (ref[i - 1] === heard[j - 1] ? 0 : 1));
    prev = cur;
  }
  return (100 * prev[heard.length]!) / ref.length;
}

async function recognisedWer(samples: Float32Array): Promise<number> {
  const transcript = await transcribe({ samples, sampleRate: 16_000 }, { language: 'en' });
  return wordErrorRate(
    EVALUATION_TEXT,
    transcript.words.map((w) => w.word),
  );
}

function writeWav(dir: string, name: string, samples: Float32Array): string {
  const file = path.join(dir, `${name}.wav`);
  writeFileSync(file, encodeWav({ samples, sampleRate: 16_000 }, 16));
  return file;
}

/**
 * `backend` recognises free speech (the default); `statisticsOnly` does not, for
 * comparison; `vocoder` speaks the same trained model with the former vocoder rendering.
 */
async function runSpeaker(speaker: string, backends: Backends, intake: AudioSampleIntake, dir: string): Promise<SpeakerRun> {
  const { backend, statisticsOnly, vocoder } = backends;
  const folder = dataPath(`librispeech/test-other/${speaker}`);
  const files = readdirSync(folder)
    .filter((n) => n.endsWith('.flac'))
    .sort()
    .map((n) => path.join(folder, n));
  const clean = await completeSample(intake, backend, files, false);
  const noisy = await completeSample(intake, backend, files, true);
  const sample = await intake.assemble(clean.clips, 16_000);
  const held = files.slice(clean.used);
  const real = [];
  for (const f of held) real.push((await intake.analyseClip(readFileSync(f), backend.info, 0)).pcm);
  const realPcm = await intake.assemble(real, 16_000);
  const trained = await trainVoice(backend, sample.samples);
  const statistics = await trainVoice(statisticsOnly, sample.samples);
  const vocoderVoice = await vocoder.loadVoice(trained.files, never);
  const converted = await speakAll(trained.voice, EVALUATION_TEXT);
  const vocoded = await speakAll(vocoderVoice, EVALUATION_TEXT);
  const statsOnly = await speakAll(statistics.voice, EVALUATION_TEXT);
  const base = await renderBase(baseVoiceById(trained.baseVoice), EVALUATION_TEXT);
  trained.voice.dispose();
  vocoderVoice.dispose();
  statistics.voice.dispose();
  const realEmbedding = speakerEmbedding(realPcm.samples);
  return {
    speaker,
    completed: clean.completed,
    completedWithNoise: noisy.completed,
    netSpeech: clean.speech,
    path: trained.metrics['parallelPath'] ?? NaN,
    wavs: {
      real: writeWav(dir, `${speaker}-real`, realPcm.samples),
      sample: writeWav(dir, `${speaker}-sample`, sample.samples),
      converted: writeWav(dir, `${speaker}-converted`, converted),
      vocoder: writeWav(dir, `${speaker}-vocoder`, vocoded),
      statistics: writeWav(dir, `${speaker}-statistics`, statsOnly),
      base: writeWav(dir, `${speaker}-base`, base),
    },
    werConverted: await recognisedWer(converted),
    werVocoder: await recognisedWer(vocoded),
    werBase: await recognisedWer(base),
    logMel: {
      converted: cosineSimilarity(speakerEmbedding(converted), realEmbedding),
      base: cosineSimilarity(speakerEmbedding(base), realEmbedding),
    },
  };
}

/** Neural embeddings through bench/speaker_embeddings.py in the bench venv; a reason string when it cannot run. */
function neuralEmbeddings(files: readonly string[]): Map<string, number[]> | string {
  const venv = process.env['BENCH_VENV'] ?? '/work/bench-venv';
  const python = path.join(venv, 'bin', 'python');
  if (!existsSync(python)) return `no Python venv with resemblyzer at ${venv} (set BENCH_VENV)`;
  if (files.length === 0) return new Map();
  const run = spawnSync(python, [path.join(repoRoot, 'bench', 'speaker_embeddings.py')], {
    input: files.join('\n'),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) return `speaker_embeddings.py failed: ${(run.stderr || '').trim().split('\n').pop() ?? ''}`;
  const parsed = JSON.parse(run.stdout) as { embeddings: Record<string, number[]> };
  return new Map(Object.entries(parsed.embeddings));
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

interface Backends {
  readonly backend: ClassicBackend;
  readonly statisticsOnly: ClassicBackend;
  readonly vocoder: ClassicBackend;
}

export async function librispeechFigures(speakers: readonly string[]): Promise<BenchFigure[]> {
  const backend = createClassicBackend();
  const statisticsOnly = createClassicBackend({ recognise: false });
  const vocoder = createClassicBackend({ rendering: 'vocoder' });
  const intake = new AudioSampleIntake();
  const dir = mkdtempSync(path.join(tmpdir(), 'vocalis-bench-classic-'));
  try {
    const runs: SpeakerRun[] = [];
    const embeddings = new Map<string, number[]>();
    let skipped: string | null = null;
    for (const speaker of speakers) {
      process.stderr.write(`  classic bench: speaker ${speaker}\n`);
      const run = await runSpeaker(speaker, { backend, statisticsOnly, vocoder }, intake, dir);
      runs.push(run);
      // Likeness per speaker as it comes, so a long run that fails late still reports what it measured.
      const neural = neuralEmbeddings(Object.values(run.wavs));
      if (typeof neural !== 'string') for (const [file, vector] of neural) embeddings.set(file, vector);
      const like = (kind: keyof SpeakerRun['wavs']): string =>
        typeof neural === 'string' ? '-' : cosine(neural.get(run.wavs[kind])!, neural.get(run.wavs.real)!).toFixed(3);
      process.stderr.write(
        `  ${speaker}: complete ${run.completed} (${run.netSpeech.toFixed(1)} s), noisy ${run.completedWithNoise}, path ${run.path}, ` +
          `WER base ${run.werBase.toFixed(0)} vocoder ${run.werVocoder.toFixed(0)} converted ${run.werConverted.toFixed(0)}, ` +
          `likeness base ${like('base')} statistics ${like('statistics')} vocoder ${like('vocoder')} converted ${like('converted')} own sample ${like('sample')}\n`,
      );
    }
    const n = runs.length;
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
    const figures: BenchFigure[] = [
      {
        metric: `speakers whose sample completes (target ${backend.info.targetSpeechSeconds} s)`,
        value: runs.filter((r) => r.completed).length,
        unit: `of ${n}`,
        target: `${n} of ${n}`,
      },
      { metric: 'speakers completing with pink noise at 13 dB SNR in every clip', value: runs.filter((r) => r.completedWithNoise).length, unit: `of ${n}` },
      { metric: 'net speech of the completed samples, least', value: Math.min(...runs.map((r) => r.netSpeech)), unit: 's' },
      {
        metric: 'speakers trained on the frame-level transcript path',
        value: runs.filter((r) => r.path === 1).length,
        unit: `of ${n}`,
        target: `${n} of ${n}`,
      },
      { metric: 'recognition WER, unconverted base voice', value: mean(runs.map((r) => r.werBase)), unit: '%' },
      { metric: 'recognition WER, converted with the former vocoder rendering', value: mean(runs.map((r) => r.werVocoder)), unit: '%' },
      { metric: 'recognition WER, converted', value: mean(runs.map((r) => r.werConverted)), unit: '%', target: '<= base + 5' },
      { metric: 'speakers with converted WER at most 5 points over base', value: runs.filter((r) => r.werConverted <= r.werBase + 5).length, unit: `of ${n}` },
      { metric: 'log-mel statistics similarity base->speaker (near-circular)', value: mean(runs.map((r) => r.logMel.base)), unit: 'cosine' },
      { metric: 'log-mel statistics similarity converted->speaker (near-circular)', value: mean(runs.map((r) => r.logMel.converted)), unit: 'cosine' },
    ];
    const check = neuralEmbeddings([]);
    if (typeof check === 'string') skipped = check;
    if (skipped !== null) {
      process.stdout.write(`  (speaker likeness skipped: ${skipped})\n`);
    } else {
      const like = (r: SpeakerRun, kind: Exclude<keyof SpeakerRun['wavs'], 'real'>): number =>
        cosine(embeddings.get(r.wavs[kind])!, embeddings.get(r.wavs.real)!);
      for (const r of runs) {
        process.stdout.write(
          `  ${r.speaker}: complete ${r.completed ? 'yes' : 'no'} (${r.netSpeech.toFixed(1)} s; noisy ${r.completedWithNoise ? 'yes' : 'no'}), path ${['statistics', 'transcript', 'script'][r.path] ?? '?'}, ` +
            `likeness base ${like(r, 'base').toFixed(3)} statistics ${like(r, 'statistics').toFixed(3)} vocoder ${like(r, 'vocoder').toFixed(3)} converted ${like(r, 'converted').toFixed(3)}, ` +
            `WER base ${r.werBase.toFixed(0)} % vocoder ${r.werVocoder.toFixed(0)} % converted ${r.werConverted.toFixed(0)} %\n`,
        );
      }
      figures.push(
        { metric: 'speaker likeness (resemblyzer) base->speaker', value: mean(runs.map((r) => like(r, 'base'))), unit: 'cosine' },
        { metric: 'speaker likeness (resemblyzer) statistics-only->speaker', value: mean(runs.map((r) => like(r, 'statistics'))), unit: 'cosine' },
        {
          metric: 'speaker likeness (resemblyzer) vocoder rendering->speaker (former default)',
          value: mean(runs.map((r) => like(r, 'vocoder'))),
          unit: 'cosine',
        },
        { metric: 'speaker likeness (resemblyzer) converted->speaker', value: mean(runs.map((r) => like(r, 'converted'))), unit: 'cosine', target: '> base' },
        { metric: 'speaker likeness (resemblyzer) own sample->held-out clips (same speaker)', value: mean(runs.map((r) => like(r, 'sample'))), unit: 'cosine' },
        {
          metric: 'speakers more like themselves converted than base',
          value: runs.filter((r) => like(r, 'converted') > like(r, 'base')).length,
          unit: `of ${n}`,
          target: `>= 5 of ${n}`,
        },
        {
          metric: 'speakers where the transcript path beats statistics-only',
          value: runs.filter((r) => like(r, 'converted') > like(r, 'statistics')).length,
          unit: `of ${n}`,
        },
      );
    }
    return figures;
  } finally {
    await backend.close();
    await statisticsOnly.close();
    await vocoder.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadingScript } from '../src/consent/reading-script.ts';
import { createGptSovitsBackend } from '../src/engine/backends/gpt-sovits/gpt-sovits-backend.ts';
import { buildDataset } from '../src/engine/backends/gpt-sovits/training/dataset.ts';
import { workLayout } from '../src/engine/backends/gpt-sovits/training/layout.ts';
import { writeFixtureModels } from '../test/backends/gpt-sovits/fixtures/fixture-graphs.ts';
import { MemoryVoiceFiles, sampleSource } from '../test/backends/gpt-sovits/helpers.ts';
import { STAND_IN_PYTHON, makeStandInHome } from '../test/backends/gpt-sovits-training/stand-in/make-home.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * GPT-SoVITS fine-tuning, everything around the trainer: dataset preparation for a 60 s sample,
 * and the job's own overhead (GPU slot, dataset, config generation, process orchestration,
 * export + models check + smoke synthesis, staging the files) with the stand-in GPT-SoVITS tree,
 * whose "trainers" take a few milliseconds per epoch. Fixture graphs; no GPU; real exports of a
 * v2 model are hundreds of MB and take the operator's PyTorch far longer than the stand-in.
 *
 * Real architecture (random weights, upstream's own trainers, this machine's CPU): with
 * `--home GPT_SOVITS_HOME --pretrained DIR --models DIR [--python P] [--version V] [--sample WAV]`
 * one fine-tune runs through scripts/gpt-sovits/verify_finetune.ts (1 epoch each, as the
 * integration check does) and its timings and disk use are reported; `--result FILE` reports a
 * saved verify_finetune.ts result instead. Without either, one line says why it was skipped.
 */
const PHRASES = 20; // 20 × 2.4 s speech + pauses ≈ 60 s
const SCRIPT: ReadingScript = {
  language: 'en',
  sentences: Array.from({ length: PHRASES }, (_, i) => `Sentence number ${i + 1} is read here with a calm and steady voice.`),
};
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

interface FineTuneResult {
  readonly version: string;
  readonly fineTuneSeconds: number;
  readonly synthesisSeconds: number;
  readonly peakJobBytes: number;
  readonly jobFolderLeft: number;
  readonly metrics: Readonly<Record<string, number>>;
}

function runVerifyFineTune(args: readonly string[], work: string): Promise<FineTuneResult> {
  const script = new URL('../scripts/gpt-sovits/verify_finetune.ts', import.meta.url).pathname;
  const pass = ['--home', '--pretrained', '--models', '--version', '--sample'].flatMap((k) => (flag(args, k) ? [k, flag(args, k)!] : []));
  const python = flag(args, '--python') ?? process.env['GPT_SOVITS_PYTHON'] ?? 'python3';
  const child = spawn(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      script,
      ...pass,
      '--python',
      python,
      '--work',
      work,
      '--out',
      join(work, 'voice.ogg'),
      ...(flag(args, '--version') ? [] : ['--version', 'v2ProPlus']),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as FineTuneResult) : reject(new Error(`verify_finetune.ts exited with ${code}`)),
    );
  });
}

/** One fine-tune with upstream's real trainers on this CPU (random weights): epochs, export, disk. */
async function realArchitecture(args: readonly string[], figures: BenchFigure[]): Promise<void> {
  const saved = flag(args, '--result');
  const ready = ['--home', '--pretrained', '--models', '--sample'].every((k) => flag(args, k));
  if (!saved && !ready) {
    figures.push({
      metric: 'real architecture: skipped (needs --home GPT_SOVITS_HOME --pretrained DIR --models DIR --sample WAV, or --result FILE)',
      value: NaN,
      unit: '',
    });
    return;
  }
  const work = saved ? null : await mkdtemp(join(tmpdir(), 'vocalis-bench-gsvt-real-'));
  try {
    const r = saved ? (JSON.parse(await readFile(saved, 'utf8')) as FineTuneResult) : await runVerifyFineTune(args, work!);
    const m = r.metrics;
    const mb = (bytes: number): number => Math.round(bytes / 1e6);
    figures.push(
      { metric: `real architecture ${r.version}, random weights, CPU: s2 (SoVITS) one epoch on 60 s`, value: m['sovitsEpoch1Seconds'] ?? NaN, unit: 's' },
      { metric: 's1 (GPT) one epoch on 60 s', value: m['gptEpoch1Seconds'] ?? NaN, unit: 's' },
      { metric: 's2 phase incl. start-up and model load (1 epoch)', value: m['sovitsTrainSeconds'] ?? NaN, unit: 's' },
      { metric: 's1 phase incl. start-up and model load (1 epoch)', value: m['gptTrainSeconds'] ?? NaN, unit: 's' },
      { metric: 'preparation 1a/1b(+sv)/1c', value: m['featureSeconds'] ?? NaN, unit: 's' },
      { metric: 'export + models check + smoke synthesis', value: m['exportSeconds'] ?? NaN, unit: 's' },
      { metric: 'whole fine-tune', value: r.fineTuneSeconds, unit: 's' },
      { metric: 'job folder at its largest', value: mb(r.peakJobBytes), unit: 'MB' },
      { metric: 'disk left per job after it ends', value: mb(r.jobFolderLeft), unit: 'MB' },
    );
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}

const suite: BenchSuite = {
  name: 'gpt-sovits-training',
  async run({ args }) {
    const root = await mkdtemp(join(tmpdir(), 'vocalis-bench-gsvt-'));
    try {
      const sample = sampleSource({ f0: 130, level: 0.3, phrases: PHRASES }, SCRIPT);
      const prep: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await buildDataset(sample, workLayout(join(root, `ds-${i}`), 'v2ProPlus'), 2, new AbortController().signal);
        prep.push((performance.now() - t) / 1000);
      }
      const models = await writeFixtureModels(join(root, 'models'), { pro: true });
      const home = await makeStandInHome(join(root, 'home'));
      const job = async (heldOut: number): Promise<{ total: number; metrics: Readonly<Record<string, number>> }> => {
        const backend = createGptSovitsBackend({
          modelsDir: models,
          training: {
            home,
            python: process.execPath,
            pythonArgs: [STAND_IN_PYTHON],
            sovitsEpochs: 8,
            gptEpochs: 15,
            gpuMemoryMiB: 8192,
            heldOutSentences: heldOut,
            patience: 100,
            lockDir: join(root, 'locks'),
            env: { STANDIN_EPOCH_MS: '1' },
          },
        });
        const t = performance.now();
        const result = await backend.fineTune({
          voiceId: 'v_bench',
          sample,
          files: new MemoryVoiceFiles(),
          scratchDir: join(root, `scratch-${heldOut}`),
          signal: new AbortController().signal,
          progress: () => {},
        });
        const total = (performance.now() - t) / 1000;
        await backend.close();
        return { total, metrics: result.metrics };
      };
      const plain = await job(0);
      const trainerSeconds = (plain.metrics['featureSeconds'] ?? 0) + (plain.metrics['sovitsTrainSeconds'] ?? 0) + (plain.metrics['gptTrainSeconds'] ?? 0);
      const scored = await job(2);
      const evaluations = 8 + 15;
      const figures: BenchFigure[] = [
        { metric: 'dataset preparation, 60 s sample (median of 3)', value: median(prep), unit: 's' },
        { metric: 'job total, stand-in trainers, no checkpoint scoring', value: plain.total, unit: 's' },
        { metric: 'of which stand-in trainer processes (prep + s2 + s1)', value: trainerSeconds, unit: 's' },
        { metric: 'overhead outside the trainer', value: plain.total - trainerSeconds, unit: 's', target: '<= 10 s' },
        { metric: 'of which dataset', value: plain.metrics['datasetSeconds'] ?? NaN, unit: 's' },
        { metric: 'of which export + models check + smoke test', value: plain.metrics['exportSeconds'] ?? NaN, unit: 's' },
        { metric: 'of which GPU slot wait', value: plain.metrics['gpuWaitSeconds'] ?? NaN, unit: 's' },
        { metric: 'job total with scoring of all 23 saved epochs', value: scored.total, unit: 's' },
        { metric: 'per saved epoch: export + 2 held-out syntheses + scoring', value: (scored.total - plain.total) / evaluations, unit: 's' },
      ];
      await realArchitecture(args, figures);
      return figures;
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
};

export default suite;

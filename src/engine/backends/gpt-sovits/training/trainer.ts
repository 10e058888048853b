/**
 * The fine-tune driver: GPU slot → dataset → upstream preparation → SoVITS (s2) training → GPT
 * (s1) training → export → models check → smoke synthesis. States:
 *   queued → preparing → training_sovits → training_gpt → exporting → ready
 *   any → failed (BackendError with a reason) | cancelled (the signal's reason is rethrown)
 * Every saved epoch is exported, made to speak the held-out sentences and scored against the
 * user's own reading; each phase keeps its best epoch and is stopped early once the score stops
 * improving. SoVITS epochs are judged with the pretrained GPT; GPT epochs with the chosen SoVITS.
 * All files live in one work folder, removed when the driver returns or throws.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError } from '../../../backend.ts';
import type { FineTuneProgress, SampleSource } from '../../../backend.ts';
import type { PcmChunk } from '../../../pcm.ts';
import type { TrainerSettings } from './configs.ts';
import { buildDataset } from './dataset.ts';
import type { Dataset } from './dataset.ts';
import { exportAndCheck } from './export-step.ts';
import type { VoiceGraphBytes } from './export-step.ts';
import { acquireGpu } from './gpu-lock.ts';
import { requiredPretrained, upstreamPaths, workLayout } from './layout.ts';
import type { UpstreamPaths, WorkLayout } from './layout.ts';
import { SHIM_SITE_DIR, batchSizeFor, resolveTrainingOptions } from './options.ts';
import type { ResolvedTrainingOptions, TrainingOptions } from './options.ts';
import { prepareFeatures, stepFailure } from './prepare-steps.ts';
import type { ChildEnv } from './prepare-steps.ts';
import { PhaseRun } from './phase-run.ts';
import type { Exported } from './phase-run.ts';
import { GPT_PHASE, SOVITS_PHASE } from './phases.ts';
import type { TrainingPhase } from './phases.ts';
import { runProcess } from './process-runner.ts';

export type TrainerState = 'queued' | 'preparing' | 'training_sovits' | 'training_gpt' | 'exporting' | 'ready' | 'failed' | 'cancelled';

export interface TrainerJob {
  readonly sample: SampleSource;
  /** Private folder for this job (inside the job's scratch directory). */
  readonly workDir: string;
  readonly signal: AbortSignal;
  progress(update: FineTuneProgress): void;
  /** Speaks sentences with candidate graphs on the voice's own conditioning (the inference backend). */
  synthesize(graphs: VoiceGraphBytes, sentences: readonly string[], language: string, signal: AbortSignal): Promise<PcmChunk[]>;
}

export interface TrainedVoice {
  readonly graphs: VoiceGraphBytes;
  readonly metrics: Readonly<Record<string, number>>;
}

/** Share of the whole job each stage covers, for the progress fraction. */
const SPAN: Record<Exclude<TrainerState, 'failed' | 'cancelled'>, readonly [number, number]> = {
  queued: [0, 0],
  preparing: [0.02, 0.12],
  training_sovits: [0.12, 0.45],
  training_gpt: [0.45, 0.85],
  exporting: [0.85, 0.98],
  ready: [1, 1],
};

/** Environment variables the children inherit from the worker. */
const INHERITED_ENV =
  /^(PATH|HOME|USER|LANG|LANGUAGE|LC_\w+|TZ|SHELL|LD_LIBRARY_PATH|CUDA_\w+|NVIDIA_\w+|NCCL_\w+|PYTORCH_\w+|TORCH_\w+|HF_\w+|TRANSFORMERS_\w+|PYTHON\w*|VIRTUAL_ENV|CONDA_\w+|OMP_NUM_THREADS|MKL_\w+)$/;

const SMOKE_TEXT: Record<string, string> = { zh: '你好，这是一个测试。', en: 'Hello, this is a test.' };

async function queryGpuMemoryMiB(device: string): Promise<number | null> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['--query-gpu=memory.total', '--format=csv,noheader,nounits', '-i', device], { timeout: 5_000 }, (error, stdout) => {
      const mib = Number(String(stdout).trim().split('\n')[0]);
      resolve(error || !Number.isFinite(mib) || mib <= 0 ? null : mib);
    });
  });
}

export class GptSovitsTrainer {
  readonly options: ResolvedTrainingOptions;
  readonly #up: UpstreamPaths;

  constructor(options: TrainingOptions) {
    this.options = resolveTrainingOptions(options);
    this.#up = upstreamPaths(this.options.home, this.options.pretrainedDir, this.options.version);
  }

  async train(job: TrainerJob): Promise<TrainedVoice> {
    const run = new TrainingRun(this.options, this.#up, job);
    try {
      return await run.execute();
    } finally {
      // Dataset, features, checkpoints, exports, logs and configs: all of it, however the job ends.
      await rm(job.workDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

class TrainingRun {
  state: TrainerState = 'queued';
  readonly #o: ResolvedTrainingOptions;
  readonly #up: UpstreamPaths;
  readonly #job: TrainerJob;
  readonly #work: WorkLayout;
  readonly #metrics: Record<string, number> = {};
  #lastReported = -1;
  #dataset: Dataset | null = null;

  constructor(o: ResolvedTrainingOptions, up: UpstreamPaths, job: TrainerJob) {
    this.#o = o;
    this.#up = up;
    this.#job = job;
    this.#work = workLayout(job.workDir, o.version);
  }

  #report(state: Exclude<TrainerState, 'failed' | 'cancelled'>, within: number, detail?: Record<string, number | string>): void {
    this.state = state;
    const [a, b] = SPAN[state];
    const fraction = Math.min(1, a + (b - a) * Math.max(0, Math.min(1, within)));
    // Throttle: every stage change, then steps of half a percent.
    if (fraction - this.#lastReported < 0.005 && state !== 'ready' && within !== 0) return;
    this.#lastReported = fraction;
    const stage = state === 'training_sovits' || state === 'training_gpt' ? 'training' : state;
    this.#job.progress(detail ? { stage, fraction, detail } : { stage, fraction });
  }

  /**
   * The children's environment: only what a Python/CUDA stack needs from ours — never the bot
   * tokens, master key or database settings of this process — plus the operator's extras. The
   * shim comes first on PYTHONPATH (upstream_shim.py: offline guards, torch ≥ 2.6 loading, …);
   * no child downloads anything: a worker's assets are installed beforehand.
   */
  #env(extra: Record<string, string> = {}): ChildEnv {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => INHERITED_ENV.test(k)));
    const pythonPath = [SHIM_SITE_DIR, this.#o.home, join(this.#o.home, 'GPT_SoVITS'), process.env['PYTHONPATH']].filter(Boolean).join(':');
    return {
      ...inherited,
      HF_HUB_OFFLINE: '1',
      TRANSFORMERS_OFFLINE: '1',
      ...this.#o.env,
      PYTHONPATH: pythonPath,
      VOCALIS_GSV_HOME: this.#o.home,
      VOCALIS_GSV_CACHE: this.#o.cacheDir,
      // G2PW (Chinese) takes its tokenizer from here (text/chinese2.py).
      bert_path: this.#up.bertDir,
      TEMP: this.#work.tmp,
      TMPDIR: this.#work.tmp,
      ...extra,
    };
  }

  /** An operator who has not installed the pretrained models hears which, before any work. */
  #requirePretrained(): void {
    const missing = requiredPretrained(this.#up, this.#o.version).filter((p) => !existsSync(p));
    if (missing.length === 0) return;
    throw new BackendError(
      'model_missing',
      `GPT-SoVITS ${this.#o.version} fine-tuning needs the pretrained models ${missing.join(', ')}; this worker does not download: install them as docs/backends/gpt-sovits-training.md says (or set GPT_SOVITS_PRETRAINED_DIR)`,
    );
  }

  /** The working directory upstream expects (its checkout root) without writing into the checkout. */
  async #makeWorkingDirectory(): Promise<void> {
    await mkdir(this.#work.cwd, { recursive: true, mode: 0o700 });
    for (const name of ['GPT_SoVITS', 'tools']) await symlink(join(this.#o.home, name), join(this.#work.cwd, name));
  }

  async execute(): Promise<TrainedVoice> {
    const { signal } = this.#job;
    const started = performance.now();
    try {
      this.#report('queued', 0, { position: 1 });
      const gpu = await acquireGpu(this.#o.lockDir, this.#o.device, this.#o.gpuSlots, signal, (position) =>
        this.#job.progress({ stage: 'queued', fraction: 0, detail: { position } }),
      );
      this.#metrics['gpuWaitSeconds'] = (performance.now() - started) / 1000;
      try {
        return await this.#trainHoldingGpu();
      } finally {
        await gpu.release();
      }
    } catch (error) {
      this.state = signal.aborted ? 'cancelled' : 'failed';
      if (signal.aborted) throw signal.reason ?? error;
      if (error instanceof BackendError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC') throw new BackendError('disk_full', 'the worker ran out of disk space while fine-tuning');
      throw error;
    }
  }

  async #trainHoldingGpu(): Promise<TrainedVoice> {
    const { signal } = this.#job;
    const t0 = performance.now();
    this.#requirePretrained();
    await rm(this.#work.root, { recursive: true, force: true }); // a retried job starts from scratch
    // logs_s2_<version>: s2_train.py saves G_/D_ there at the end of each epoch; only upstream's
    // webui.py creates it, and without it SoVITS training dies after its first epoch.
    for (const dir of [this.#work.optDir, this.#work.s2LogDir, this.#work.sovitsWeights, this.#work.gptWeights, this.#work.exports, this.#work.tmp]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    }
    await this.#makeWorkingDirectory();
    this.#report('preparing', 0);
    const dataset = await buildDataset(this.#job.sample, this.#work, this.#o.heldOutSentences, signal);
    this.#dataset = dataset;
    this.#metrics['datasetSeconds'] = (performance.now() - t0) / 1000;
    this.#metrics['trainItems'] = dataset.trainItems;
    this.#metrics['trainSpeechSeconds'] = Math.round(dataset.trainSeconds * 10) / 10;
    this.#metrics['heldOutItems'] = dataset.heldOut.length;
    this.#report('preparing', 0.1);
    const t1 = performance.now();
    await prepareFeatures(this.#o, this.#up, this.#work, this.#env(), signal, (i) => this.#report('preparing', 0.1 + 0.3 * i));
    this.#metrics['featureSeconds'] = (performance.now() - t1) / 1000;

    const memory = this.#o.gpuMemoryMiB ?? (this.#o.batchSize === null ? await queryGpuMemoryMiB(this.#o.device) : null);
    const batchSize = Math.max(1, Math.min(this.#o.batchSize ?? batchSizeFor(memory, this.#o.half), dataset.trainItems));
    this.#metrics['batchSize'] = batchSize;
    const settings = { batchSize, half: this.#o.half, device: this.#o.device, version: this.#o.version } as const;

    // SoVITS epochs are judged with the pretrained GPT; GPT epochs with the chosen SoVITS.
    const sovits = await this.#phase(SOVITS_PHASE, settings, this.#up.pretrainedS1);
    const gpt = await this.#phase(GPT_PHASE, settings, sovits.checkpoint);

    const t4 = performance.now();
    this.#report('exporting', 0);
    const graphs = gpt.graphs ?? (await this.#export(gpt.checkpoint, sovits.checkpoint, 'final'));
    this.#report('exporting', 0.6);
    await this.#smokeTest(graphs, dataset.language);
    this.#metrics['exportSeconds'] = (performance.now() - t4) / 1000;
    if (gpt.score) {
      this.#metrics['validationScore'] = gpt.score.score;
      this.#metrics['validationMcdDb'] = gpt.score.mcdDb;
      if (Number.isFinite(gpt.score.f0RmseCents)) this.#metrics['validationF0RmseCents'] = gpt.score.f0RmseCents;
      if (gpt.score.similarity !== null) this.#metrics['validationSimilarity'] = gpt.score.similarity;
    }
    this.#report('ready', 1);
    return { graphs, metrics: { ...this.#metrics } };
  }

  async #export(gptCheckpoint: string, sovitsCheckpoint: string, label: string): Promise<VoiceGraphBytes> {
    const outDir = join(this.#work.exports, label);
    await mkdir(outDir, { recursive: true, mode: 0o700 });
    return exportAndCheck(this.#o, { gptCheckpoint, sovitsCheckpoint, outDir, cwd: this.#work.cwd, env: this.#env(), signal: this.#job.signal });
  }

  async #smokeTest(graphs: VoiceGraphBytes, language: string): Promise<void> {
    const text = SMOKE_TEXT[language] ?? SMOKE_TEXT['en']!;
    const [pcm] = await this.#job.synthesize(graphs, [text], language, this.#job.signal);
    const samples = pcm?.samples ?? new Float32Array(0);
    let peak = 0;
    for (const s of samples) {
      if (!Number.isFinite(s)) throw new BackendError('export_failed', 'the exported voice produced invalid samples in the smoke test');
      peak = Math.max(peak, Math.abs(s));
    }
    if (!pcm || samples.length < pcm.sampleRate * 0.2 || peak < 1e-4) {
      throw new BackendError('export_failed', 'the exported voice produced no audible speech in the smoke test');
    }
  }

  /**
   * One phase: its config, its script run with checkpoint selection (PhaseRun); returns the
   * chosen checkpoint (exported when it was scored).
   */
  async #phase(phase: TrainingPhase, settings: Omit<TrainerSettings, 'epochs'>, partner: string): Promise<Exported> {
    const { signal } = this.#job;
    const o = this.#o;
    const started = performance.now();
    await phase.writeConfig(this.#up, this.#work, { ...settings, epochs: phase.epochs(o) });
    const run = new PhaseRun(phase, partner, {
      options: o,
      exportsDir: this.#work.exports,
      weightsDir: phase.weightsDir(this.#work),
      dataset: this.#dataset,
      signal,
      metrics: this.#metrics,
      export: (gptCheckpoint, sovitsCheckpoint, label) => this.#export(gptCheckpoint, sovitsCheckpoint, label),
      synthesize: (graphs, sentences, language, s) => this.#job.synthesize(graphs, sentences, language, s),
      report: (within, detail) => this.#report(phase.state, within, detail),
    });
    const script = phase.script(this.#up);
    let trainer: ReturnType<typeof runProcess> | undefined;
    run.begin(() => trainer?.stop());
    trainer = runProcess({
      command: o.python,
      args: [...o.pythonArgs, '-s', script, ...phase.args(this.#work)],
      cwd: this.#work.cwd,
      env: this.#env(phase.env(o)),
      signal,
      killGraceMs: o.killGraceMs,
      onLine: (line) => run.onLine(line),
    });
    const outcome = await trainer.done;
    signal.throwIfAborted();
    if (outcome.kind === 'exited' && outcome.code !== 0 && !run.stoppedByUs) throw stepFailure(script, outcome.code, outcome.failure);
    await phase.dropResumeState(this.#work);
    const chosen = await run.finish();
    this.#metrics[`${phase.name}TrainSeconds`] = (performance.now() - started) / 1000;
    return chosen;
  }
}

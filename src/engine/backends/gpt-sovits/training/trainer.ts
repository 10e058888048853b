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
import { mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError } from '../../../backend.ts';
import type { FineTuneProgress, SampleSource } from '../../../backend.ts';
import type { PcmChunk } from '../../../pcm.ts';
import { writeS1Config, writeS2Config } from './configs.ts';
import { buildDataset } from './dataset.ts';
import type { Dataset } from './dataset.ts';
import { exportAndCheck } from './export-step.ts';
import type { VoiceGraphBytes } from './export-step.ts';
import { acquireGpu } from './gpu-lock.ts';
import { EXP_NAME, requiredPretrained, upstreamPaths, workLayout } from './layout.ts';
import type { UpstreamPaths, WorkLayout } from './layout.ts';
import { parseS1Line, parseS2Line } from './log-parsers.ts';
import type { TrainerEvent } from './log-parsers.ts';
import { SHIM_SITE_DIR, batchSizeFor, resolveTrainingOptions } from './options.ts';
import type { ResolvedTrainingOptions, TrainingOptions } from './options.ts';
import { prepareFeatures, stepFailure } from './prepare-steps.ts';
import type { ChildEnv } from './prepare-steps.ts';
import { runProcess } from './process-runner.ts';
import { scorePairs } from './scoring.ts';
import type { CheckpointScore } from './scoring.ts';
import { CheckpointSelector } from './selection.ts';

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

type Phase = 'sovits' | 'gpt';

interface Exported {
  readonly checkpoint: string;
  readonly dir: string | null;
  readonly graphs: VoiceGraphBytes | null;
  readonly score: CheckpointScore | null;
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
const INHERITED_ENV = /^(PATH|HOME|USER|LANG|LANGUAGE|LC_\w+|TZ|SHELL|LD_LIBRARY_PATH|CUDA_\w+|NVIDIA_\w+|NCCL_\w+|PYTORCH_\w+|TORCH_\w+|HF_\w+|TRANSFORMERS_\w+|PYTHON\w*|VIRTUAL_ENV|CONDA_\w+|OMP_NUM_THREADS|MKL_\w+)$/;

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

  /** Upstream's resumable state (G_/D_ with optimizer state, Lightning checkpoints): we never resume. */
  async #dropResumeState(phase: Phase): Promise<void> {
    if (phase === 'gpt') {
      await rm(join(this.#work.s1LogDir, 'ckpt'), { recursive: true, force: true });
      return;
    }
    const names = await readdir(this.#work.s2LogDir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => /^[GD]_\d+\.pth$/.test(n)).map((n) => rm(join(this.#work.s2LogDir, n), { force: true })));
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

    const t2 = performance.now();
    await writeS2Config(this.#up, this.#work, { ...settings, epochs: this.#o.sovitsEpochs });
    const sovits = await this.#phase('sovits', this.#up.pretrainedS1);
    this.#metrics['sovitsTrainSeconds'] = (performance.now() - t2) / 1000;
    const t3 = performance.now();
    await writeS1Config(this.#up, this.#work, { ...settings, epochs: this.#o.gptEpochs });
    const gpt = await this.#phase('gpt', sovits.checkpoint);
    this.#metrics['gptTrainSeconds'] = (performance.now() - t3) / 1000;

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

  /** One trainer run with checkpoint selection; returns the chosen checkpoint (exported when scored). */
  async #phase(phase: Phase, partner: string): Promise<Exported> {
    const { signal } = this.#job;
    const o = this.#o;
    const epochs = phase === 'sovits' ? o.sovitsEpochs : o.gptEpochs;
    const state = phase === 'sovits' ? 'training_sovits' : 'training_gpt';
    const weightsDir = phase === 'sovits' ? this.#work.sovitsWeights : this.#work.gptWeights;
    const pattern = phase === 'sovits' ? new RegExp(`^${EXP_NAME}_e(\\d+)_s\\d+\\.pth$`) : new RegExp(`^${EXP_NAME}-e(\\d+)\\.ckpt$`);
    const heldOut = this.#dataset?.heldOut ?? [];
    const selector = new CheckpointSelector<Exported>(o.patience, o.minImprovement);
    const seen = new Set<number>();
    let last: { epoch: number; checkpoint: string } | null = null;
    let chain: Promise<void> = Promise.resolve();
    let evalError: unknown = null;
    let earlyStopped = false;
    let epoch = 0;
    let loss = NaN;
    const phaseStart = performance.now();
    let epochsStarted = 0;

    const stopTrainer = (): void => trainer.stop();
    const evaluate = async (e: number, checkpoint: string): Promise<void> => {
      if (evalError || selector.shouldStop() || signal.aborted) return;
      const [gptCk, sovitsCk] = phase === 'sovits' ? [partner, checkpoint] : [checkpoint, partner];
      const label = `${phase}-e${e}`;
      const graphs = await this.#export(gptCk, sovitsCk, label);
      const spoken = await this.#job.synthesize(graphs, heldOut.map((h) => h.text), this.#dataset?.language ?? 'en', signal);
      const score = await scorePairs(heldOut.map((h, i) => ({ reference: h.pcm, synthesized: spoken[i] ?? { samples: new Float32Array(0), sampleRate: h.pcm.sampleRate } })), o.speakerEmbedding ?? null, signal);
      const previous = selector.best;
      const improved = selector.add({ epoch: e, score: score.score, item: { checkpoint, dir: join(this.#work.exports, label), graphs, score } });
      this.#metrics[`${phase}ScoreE${e}`] = Math.round(score.score * 1000) / 1000;
      // Keep only the best export on disk; a checkpoint that lost is deleted at once.
      await rm(improved ? (previous?.item.dir ?? '') || join(this.#work.exports, '.none') : join(this.#work.exports, label), { recursive: true, force: true });
      if (!improved && selector.best) await rm(checkpoint, { force: true });
      if (selector.shouldStop() && e < epochs) {
        earlyStopped = true;
        stopTrainer();
      }
    };
    let firstProgressAt: number | null = null;
    const saved = (e: number, checkpoint: string): void => {
      if (seen.has(e)) return;
      seen.add(e);
      last = { epoch: e, checkpoint };
      // One epoch's training time, without process start-up and model loading (benchmarks).
      if (e === 1 && firstProgressAt !== null) this.#metrics[`${phase}Epoch1Seconds`] = (performance.now() - firstProgressAt) / 1000;
      if (heldOut.length === 0) return;
      chain = chain.then(() => evaluate(e, checkpoint)).catch((error: unknown) => {
        evalError ??= error;
        stopTrainer();
      });
    };
    const scan = async (): Promise<void> => {
      const names = await readdir(weightsDir).catch(() => [] as string[]);
      const found = names.map((n) => ({ n, m: pattern.exec(n) })).filter((x) => x.m).map((x) => ({ n: x.n, e: Number(x.m![1]) })).sort((a, b) => a.e - b.e);
      for (const f of found) saved(f.e, join(weightsDir, f.n));
    };
    const onEvent = (ev: TrainerEvent): void => {
      if (ev.type === 'loss') loss = ev.loss;
      // s2 writes its weights before it logs "saving ckpt"/"====> Epoch" (not atomically, so never
      // scan earlier); s1 writes via a temporary file and a rename before the next epoch begins.
      else if (ev.type === 'checkpoint_saved' || ev.type === 'epoch_done') void scan();
      else if (ev.type === 'epoch_progress') {
        firstProgressAt ??= performance.now();
        if (ev.epoch !== epoch) {
          epoch = ev.epoch;
          epochsStarted++;
          void scan(); // the previous epoch's weights are complete by now
        }
        const done = Math.max(0, epoch - 1 + ev.fraction);
        const perEpoch = epochsStarted > 1 ? (performance.now() - phaseStart) / 1000 / Math.max(done, 1e-3) : NaN;
        const remaining = epochs - done + (phase === 'sovits' ? o.gptEpochs * 0.5 : 0);
        const detail: Record<string, number | string> = { phase, epoch, epochs };
        if (Number.isFinite(loss)) detail['loss'] = Math.round(loss * 1000) / 1000;
        if (Number.isFinite(perEpoch)) detail['etaSeconds'] = Math.round(perEpoch * remaining);
        this.#report(state, done / epochs, detail);
      }
    };
    const script = phase === 'sovits' ? this.#up.s2Train : this.#up.s1Train;
    const args = phase === 'sovits' ? ['--config', this.#work.s2ConfigFile] : ['--config_file', this.#work.s1ConfigFile];
    const env = this.#env(phase === 'gpt' ? { _CUDA_VISIBLE_DEVICES: o.device, hz: '25hz' } : {});
    this.#report(state, 0, { phase, epoch: 0, epochs });
    const trainer = runProcess({
      command: o.python,
      args: [...o.pythonArgs, '-s', script, ...args],
      cwd: this.#work.cwd,
      env,
      signal,
      killGraceMs: o.killGraceMs,
      onLine: (line) => {
        if (phase === 'sovits') {
          const ev = parseS2Line(line);
          if (ev) onEvent(ev);
        } else for (const ev of parseS1Line(line)) onEvent(ev);
      },
    });
    const outcome = await trainer.done;
    signal.throwIfAborted();
    if (outcome.kind === 'exited' && outcome.code !== 0 && !earlyStopped && !evalError) throw stepFailure(script, outcome.code, outcome.failure);
    await this.#dropResumeState(phase);
    await scan();
    await chain;
    if (evalError) throw evalError;
    this.#metrics[`${phase}EpochsRun`] = Math.max(seen.size, 0);
    this.#metrics[`${phase}EarlyStopped`] = earlyStopped ? 1 : 0;
    const best = selector.best;
    if (best) {
      this.#metrics[`${phase}BestEpoch`] = best.epoch;
      return best.item;
    }
    const final = last as { epoch: number; checkpoint: string } | null;
    if (!final) throw new BackendError('training_failed', `${phase === 'sovits' ? 's2_train.py' : 's1_train.py'} saved no checkpoint`);
    this.#metrics[`${phase}BestEpoch`] = final.epoch;
    return { checkpoint: final.checkpoint, dir: null, graphs: null, score: null };
  }
}

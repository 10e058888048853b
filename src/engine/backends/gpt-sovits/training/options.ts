/**
 * Configuration of the GPT-SoVITS trainer (the fine-tune side of the backend). Only `home` is
 * required: an operator's GPT-SoVITS checkout with its pretrained weights and its Python.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TrainingOptions {
  /** GPT_SOVITS_HOME: the GPT-SoVITS checkout (webui.py, GPT_SoVITS/…, pretrained_models). */
  readonly home: string;
  /** GPT_SOVITS_PYTHON; default `<home>/runtime/python` when it exists, else `python3`. */
  readonly python?: string;
  /** Arguments put before the script path (tests run a Node stand-in through process.execPath). */
  readonly pythonArgs?: readonly string[];
  /** SoVITS (s2) epochs; upstream default 8. */
  readonly sovitsEpochs?: number;
  /** GPT (s1) epochs; upstream default 15. */
  readonly gptEpochs?: number;
  /** Fixed batch size; default from GPU memory (upstream: GiB / 2). */
  readonly batchSize?: number;
  /** GPU memory in MiB when known; otherwise `nvidia-smi` is asked. */
  readonly gpuMemoryMiB?: number;
  /** fp16 training (upstream `is_half`); halves the batch when false, as the WebUI does. */
  readonly half?: boolean;
  /** CUDA device index the trainers use (`_CUDA_VISIBLE_DEVICES`). */
  readonly device?: string;
  /** Trainings that may share one GPU at once (default 1). */
  readonly gpuSlots?: number;
  /** Where the per-GPU lock files live (one host; shared by every worker process there). */
  readonly lockDir?: string;
  /** Held-out script sentences for checkpoint selection (0 disables selection: last epoch wins). */
  readonly heldOutSentences?: number;
  /** Saved epochs without improvement before training stops early. */
  readonly patience?: number;
  /** Smallest score decrease that counts as an improvement. */
  readonly minImprovement?: number;
  /** Speaker embedding for the similarity term of the score (16 kHz mono in). */
  readonly speakerEmbedding?: (samples16k: Float32Array) => Float64Array | Promise<Float64Array>;
  /** Extra environment for every child process (e.g. CUDA settings). */
  readonly env?: Readonly<Record<string, string>>;
  /** The project's export script (default: scripts/gpt-sovits/export_onnx.py of this repository). */
  readonly exportScript?: string;
  /** Manifest the exported graphs are checked against. */
  readonly manifestPath?: string;
  /** SIGTERM → SIGKILL grace when a process group is stopped. */
  readonly killGraceMs?: number;
  /** GPT-SoVITS model version of new fine-tunes (GPT_SOVITS_VERSION); default v2ProPlus. */
  readonly version?: GptSovitsVersion;
  /**
   * GPT_SOVITS_PRETRAINED_DIR: upstream's `pretrained_models` folder (default
   * `<home>/GPT_SoVITS/pretrained_models`), laid out as upstream's README says.
   */
  readonly pretrainedDir?: string;
  /**
   * Writable folder for what upstream would write into its own checkout (a missing
   * engdict_cache.pickle) and for the shim's data; default `$TMPDIR/vocalis-gpt-sovits-cache`.
   */
  readonly cacheDir?: string;
}

export const GPT_SOVITS_VERSIONS = ['v2', 'v2Pro', 'v2ProPlus'] as const;
export type GptSovitsVersion = (typeof GPT_SOVITS_VERSIONS)[number];

export interface ResolvedTrainingOptions {
  readonly home: string;
  readonly python: string;
  readonly pythonArgs: readonly string[];
  readonly sovitsEpochs: number;
  readonly gptEpochs: number;
  readonly batchSize: number | null;
  readonly gpuMemoryMiB: number | null;
  readonly half: boolean;
  readonly device: string;
  readonly gpuSlots: number;
  readonly lockDir: string;
  readonly heldOutSentences: number;
  readonly patience: number;
  readonly minImprovement: number;
  readonly speakerEmbedding: TrainingOptions['speakerEmbedding'] | null;
  readonly env: Readonly<Record<string, string>>;
  readonly exportScript: string;
  readonly manifestPath: string;
  readonly killGraceMs: number;
  readonly version: GptSovitsVersion;
  readonly pretrainedDir: string;
  readonly cacheDir: string;
}

const REPO_ROOT = new URL('../../../../../', import.meta.url).pathname;

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new RangeError(`training option ${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

/**
 * Put first on every upstream child's PYTHONPATH: its sitecustomize.py loads
 * scripts/gpt-sovits/upstream_shim.py (offline guards, checkpoint loading on torch ≥ 2.6, …)
 * into that process and, through the inherited environment, into its workers.
 */
export const SHIM_SITE_DIR = join(REPO_ROOT, 'scripts', 'gpt-sovits', 'shim-site');

/** The inference graphs a fine-tune of this version exports (Vocalis's KV-cache layout). */
export function manifestFor(version: GptSovitsVersion): string {
  return join(REPO_ROOT, 'models', version === 'v2' ? 'gpt-sovits-v2-kv.manifest.json' : 'gpt-sovits-v2pro-kv.manifest.json');
}

export function resolveTrainingOptions(o: TrainingOptions): ResolvedTrainingOptions {
  const bundled = join(o.home, 'runtime', 'python');
  const version = o.version ?? 'v2ProPlus';
  if (!GPT_SOVITS_VERSIONS.includes(version))
    throw new RangeError(`training option version must be one of ${GPT_SOVITS_VERSIONS.join(', ')}, got ${String(version)}`);
  return {
    home: o.home,
    python: o.python ?? (existsSync(bundled) ? bundled : 'python3'),
    pythonArgs: o.pythonArgs ?? [],
    sovitsEpochs: positiveInt('sovitsEpochs', o.sovitsEpochs, 8),
    gptEpochs: positiveInt('gptEpochs', o.gptEpochs, 15),
    batchSize: o.batchSize === undefined ? null : positiveInt('batchSize', o.batchSize, 1),
    gpuMemoryMiB: o.gpuMemoryMiB ?? null,
    half: o.half ?? true,
    device: o.device ?? '0',
    gpuSlots: positiveInt('gpuSlots', o.gpuSlots, 1),
    lockDir: o.lockDir ?? join(tmpdir(), 'vocalis-gpu-locks'),
    heldOutSentences: positiveInt('heldOutSentences', o.heldOutSentences, 2, 0),
    patience: positiveInt('patience', o.patience, 2),
    minImprovement: o.minImprovement ?? 0.05,
    speakerEmbedding: o.speakerEmbedding ?? null,
    env: o.env ?? {},
    exportScript: o.exportScript ?? join(REPO_ROOT, 'scripts', 'gpt-sovits', 'export_onnx.py'),
    manifestPath: o.manifestPath ?? manifestFor(version),
    killGraceMs: o.killGraceMs ?? 5_000,
    version,
    pretrainedDir: o.pretrainedDir ?? join(o.home, 'GPT_SoVITS', 'pretrained_models'),
    cacheDir: o.cacheDir ?? join(tmpdir(), 'vocalis-gpt-sovits-cache'),
  };
}

/** Upstream WebUI: batch size = GPU memory in GiB / 2, halved again without fp16. */
export function batchSizeFor(memoryMiB: number | null, half: boolean): number {
  const base = memoryMiB === null ? 2 : Math.max(1, Math.floor(memoryMiB / 1024 / 2));
  return half ? base : Math.max(1, Math.floor(base / 2));
}

import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Every setting Vocalis reads, validated once at start. All problems are reported
 * together in one message; values are never echoed (tokens and keys live here).
 */
const duration = z.coerce.number().positive();
const optionalString = z.string().trim().min(1).optional();
/** `host:port`, the host a name, IPv4 or a bracketed IPv6 address. */
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const schema = z.object({
  VOCALIS_DATA_DIR: z.string().min(1).default('./data'),
  VOCALIS_MASTER_KEY: optionalString,
  VOCALIS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  VOCALIS_HTTP_HOST: z.string().default('127.0.0.1'),
  VOCALIS_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  VOCALIS_BACKEND: z.string().min(1).default('classic'),
  VOCALIS_RUN_WORKER: flag.default(true),
  VOCALIS_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  VOCALIS_JOB_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  VOCALIS_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name: 3-63 lowercase letters, digits, dots, hyphens')
    .optional(),
  // Credentials never go in the URL: they come from the SDK's chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, …).
  VOCALIS_S3_ENDPOINT: z
    .url({ protocol: /^https?$/ })
    .refine((u) => new URL(u).username === '' && new URL(u).password === '', 'no credentials in the URL (use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)')
    .optional(),
  VOCALIS_S3_REGION: z
    .string()
    .regex(/^[a-z0-9-]{2,32}$/, 'a region name such as us-east-1')
    .default('us-east-1'),
  VOCALIS_RAW_SAMPLE_RETENTION_DAYS: duration.default(7),
  VOCALIS_VOICE_INACTIVITY_DAYS: duration.default(365),
  VOCALIS_CONSENT_OFFER_TTL_MINUTES: duration.default(15),
  VOCALIS_CONSENT_VERIFICATION: z.enum(['required', 'off']).default('required'),
  VOCALIS_CONSENT_MIN_ASSURANCE: z.enum(['acoustic', 'recognised']).default('acoustic'),
  // The measured equal-error point for 3 s clips (0.51–0.55), moved toward fewer false accepts (npm run bench -- consent).
  VOCALIS_SPEAKER_THRESHOLD: z.coerce.number().min(-10).max(10).default(0.6),
  VOCALIS_SPEAKER_MODEL: z.enum(['gmm-ubm', 'onnx']).default('gmm-ubm'),
  VOCALIS_SPEAKER_ONNX_PATH: optionalString,
  // The input the embedding model was trained on, declared with it: fbank80 (WeSpeaker, ECAPA) or mel40 (GE2E).
  VOCALIS_SPEAKER_ONNX_FEATURES: z
    .string()
    .regex(/^(fbank|mel)(\d{2,3})$/, 'expected fbank<bins> or mel<bins>, e.g. fbank80 or mel40')
    .default('fbank80'),
  VOCALIS_SPEAKER_ONNX_WINDOW_FRAMES: z.coerce.number().int().min(0).max(100_000).default(0),
  VOCALIS_SPEAKER_ONNX_CALIBRATION: optionalString,
  VOCALIS_STREAM_LEAD_MS: z.coerce.number().int().min(20).max(5000).default(200),
  VOCALIS_SHUTDOWN_TIMEOUT_SECONDS: duration.max(600).default(10),
  VOCALIS_ENGINE: z.enum(['local', 'remote']).default('local'),
  VOCALIS_ENGINE_LISTEN: z.string().regex(HOST_PORT, 'expected host:port').default('127.0.0.1:7077'),
  VOCALIS_ENGINE_ADVERTISE: z.string().regex(HOST_PORT, 'expected host:port').optional(),
  VOCALIS_ENGINE_SECRET: z.string().trim().min(32, 'at least 32 characters').optional(),
  VOCALIS_ENGINE_TLS_CERT: optionalString,
  VOCALIS_ENGINE_TLS_KEY: optionalString,
  VOCALIS_ENGINE_TLS_CA: optionalString,
  VOCALIS_ENGINE_NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash, underscore; at most 64')
    .optional(),
  DISCORD_TOKEN: optionalString,
  DISCORD_APPLICATION_ID: optionalString,
  DISCORD_GUILD_ID: optionalString,
  DISCORD_ADMIN_ROLE: optionalString,
  // Unset: one Discord client in the service process. `auto` or N: a ShardingManager, one process per shard.
  DISCORD_SHARDS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(4096)]).optional(),
  DISCORD_API_ROOT: z.url().optional(),
  TELEGRAM_TOKEN: optionalString,
  TELEGRAM_WEBHOOK_URL: z.url().optional(),
  TELEGRAM_API_ROOT: z.url().optional(),
  TELEGRAM_WEBHOOK_HOST: z.string().default('127.0.0.1'),
  TELEGRAM_WEBHOOK_PORT: z.coerce.number().int().min(1).max(65535).default(8443),
  TELEGRAM_OPERATOR_IDS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
  GPT_SOVITS_MODELS_DIR: optionalString,
  GPT_SOVITS_STREAMING: z.enum(['segment', 'chunk']).default('chunk'),
  GPT_SOVITS_PROVIDER: z.enum(['cpu', 'cuda']).default('cpu'),
  GPT_SOVITS_HOME: optionalString,
  GPT_SOVITS_PYTHON: optionalString,
  GPT_SOVITS_VERSION: z.enum(['v2', 'v2Pro', 'v2ProPlus']).default('v2ProPlus'),
  GPT_SOVITS_PRETRAINED_DIR: optionalString,
  GPT_SOVITS_SOVITS_EPOCHS: z.coerce.number().int().min(1).max(100).default(8),
  GPT_SOVITS_GPT_EPOCHS: z.coerce.number().int().min(1).max(100).default(15),
  GPT_SOVITS_BATCH_SIZE: z.coerce.number().int().min(1).max(64).optional(),
  GPT_SOVITS_GPU_SLOTS: z.coerce.number().int().min(1).max(16).default(1),
  GPT_SOVITS_DEVICE: z
    .string()
    .regex(/^\d+(,\d+)*$/)
    .default('0'),
});

/** Every variable the configuration reads (the deployment files are checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

export type Config = Readonly<{
  dataDir: string;
  masterKey: string | undefined;
  logLevel: z.infer<typeof schema>['VOCALIS_LOG_LEVEL'];
  http: { host: string; port: number };
  backend: string;
  runWorker: boolean;
  workerConcurrency: number;
  jobAttempts: number;
  redisUrl: string | undefined;
  /** State in this PostgreSQL database; undefined: SQLite in the data directory. Holds a password: never logged. */
  databaseUrl: string | undefined;
  /** Sample clips, voiceprints and model files in this S3 bucket; undefined: in the data directory. */
  objectStore: { bucket: string; endpoint: string | undefined; region: string } | undefined;
  retention: { rawSampleDays: number; voiceInactivityDays: number; consentOfferMinutes: number };
  /** Consent verification: `off` only when set explicitly, and then written into every receipt. */
  consentVerification: { mode: 'required' | 'off'; minAssurance: 'acoustic' | 'recognised'; speakerThreshold: number };
  /** The speaker model consent verification scores clips with. */
  speakerModel: SpeakerModelConfig;
  streamLeadMs: number;
  /** After a stop signal, the process exits by then even if parts are still closing. */
  shutdownTimeoutMs: number;
  /** Where synthesis runs (`remote`: engine nodes found through Redis) and, for `npm run engine`, how a node serves. */
  engine: EngineConfig;
  discord:
    | {
        token: string;
        applicationId: string | undefined;
        guildId: string | undefined;
        adminRole: string | undefined;
        /** REST base other than Discord's (`http://host/api`), e.g. a local fake in tests. */
        apiRoot?: string;
        /** Shard processes (`auto`: what Discord recommends); absent: one client in the service process. */
        shards?: number | 'auto';
      }
    | undefined;
  telegram:
    | { token: string; apiRoot: string | undefined; webhookUrl: string | undefined; webhookHost: string; webhookPort: number; operatorIds: readonly string[] }
    | undefined;
  gptSovitsModelsDir: string | undefined;
  gptSovitsStreaming: 'segment' | 'chunk';
  gptSovitsProvider: 'cpu' | 'cuda';
  /** Fine-tuning with an operator's GPT-SoVITS checkout; absent: GPT-SoVITS voices stay zero-shot. */
  gptSovitsTraining:
    | {
        home: string;
        python: string | undefined;
        /** Model version of new fine-tunes; voices fine-tuned with another version keep loading. */
        version: 'v2' | 'v2Pro' | 'v2ProPlus';
        pretrainedDir: string | undefined;
        sovitsEpochs: number;
        gptEpochs: number;
        batchSize: number | undefined;
        gpuSlots: number;
        device: string;
      }
    | undefined;
}>;

/** Engine nodes (docs/deployment/engine-nodes.md). The secret is never logged. */
export interface EngineConfig {
  readonly mode: 'local' | 'remote';
  /** `host:port` an engine node listens on; loopback by default. */
  readonly listen: string;
  /** `host:port` other hosts reach the node at (registered in Redis); the listen address by default. */
  readonly advertise: string;
  readonly secret: string | undefined;
  /** Default `<hostname>-<pid>`, chosen where the node starts. */
  readonly nodeId: string | undefined;
  /**
   * TLS between bots and nodes (the HMAC signatures authenticate; TLS also keeps text and audio
   * private on the wire): a node's certificate and key files, a bot's CA file to verify nodes with.
   */
  readonly tls: { readonly cert: string; readonly key: string } | undefined;
  readonly tlsCa: string | undefined;
}

/**
 * `gmm-ubm`: the built-in model. `onnx`: an operator's speaker-embedding model, with the
 * features it takes, how many frames it sees at once (0: the whole clip) and the cosine
 * similarities it typically gives other speakers and the same speaker (its calibration).
 */
export type SpeakerModelConfig =
  | { readonly kind: 'gmm-ubm' }
  | {
      readonly kind: 'onnx';
      readonly path: string;
      readonly features: { readonly kind: 'fbank' | 'mel'; readonly melBins: number };
      readonly windowFrames: number;
      readonly calibration: { readonly impostor: number; readonly target: number };
    };

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee .env.example for every variable.`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Builds the configuration from an environment (process.env after dotenv). */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): Config {
  // Empty strings mean "unset": .env files often carry `KEY=` lines.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    // Name the variable and the rule, never the value.
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  const e = parsed.data;
  const speakerModel = speakerModelOf(e, cwd);
  if ('problems' in speakerModel) throw new ConfigError(speakerModel.problems);
  if (Boolean(e.VOCALIS_ENGINE_TLS_CERT) !== Boolean(e.VOCALIS_ENGINE_TLS_KEY)) {
    throw new ConfigError(['VOCALIS_ENGINE_TLS_CERT and VOCALIS_ENGINE_TLS_KEY: set both (the node serves TLS with that certificate) or neither']);
  }
  if (e.VOCALIS_ENGINE === 'remote') {
    const missing = [
      ...(e.REDIS_URL ? [] : ['REDIS_URL: required with VOCALIS_ENGINE=remote (engine nodes are found through Redis)']),
      ...(e.VOCALIS_ENGINE_SECRET ? [] : ['VOCALIS_ENGINE_SECRET: required with VOCALIS_ENGINE=remote (it authenticates requests to engine nodes)']),
    ];
    if (missing.length > 0) throw new ConfigError(missing);
  }
  return {
    dataDir: resolve(cwd, e.VOCALIS_DATA_DIR),
    masterKey: e.VOCALIS_MASTER_KEY,
    logLevel: e.VOCALIS_LOG_LEVEL,
    http: { host: e.VOCALIS_HTTP_HOST, port: e.VOCALIS_HTTP_PORT },
    backend: e.VOCALIS_BACKEND,
    runWorker: e.VOCALIS_RUN_WORKER,
    workerConcurrency: e.VOCALIS_WORKER_CONCURRENCY,
    jobAttempts: e.VOCALIS_JOB_ATTEMPTS,
    redisUrl: e.REDIS_URL,
    databaseUrl: e.DATABASE_URL,
    objectStore: e.VOCALIS_S3_BUCKET ? { bucket: e.VOCALIS_S3_BUCKET, endpoint: e.VOCALIS_S3_ENDPOINT, region: e.VOCALIS_S3_REGION } : undefined,
    retention: {
      rawSampleDays: e.VOCALIS_RAW_SAMPLE_RETENTION_DAYS,
      voiceInactivityDays: e.VOCALIS_VOICE_INACTIVITY_DAYS,
      consentOfferMinutes: e.VOCALIS_CONSENT_OFFER_TTL_MINUTES,
    },
    consentVerification: { mode: e.VOCALIS_CONSENT_VERIFICATION, minAssurance: e.VOCALIS_CONSENT_MIN_ASSURANCE, speakerThreshold: e.VOCALIS_SPEAKER_THRESHOLD },
    speakerModel,
    streamLeadMs: e.VOCALIS_STREAM_LEAD_MS,
    shutdownTimeoutMs: e.VOCALIS_SHUTDOWN_TIMEOUT_SECONDS * 1000,
    engine: {
      mode: e.VOCALIS_ENGINE,
      listen: e.VOCALIS_ENGINE_LISTEN,
      advertise: e.VOCALIS_ENGINE_ADVERTISE ?? e.VOCALIS_ENGINE_LISTEN,
      secret: e.VOCALIS_ENGINE_SECRET,
      nodeId: e.VOCALIS_ENGINE_NODE_ID,
      tls:
        e.VOCALIS_ENGINE_TLS_CERT && e.VOCALIS_ENGINE_TLS_KEY
          ? { cert: resolve(cwd, e.VOCALIS_ENGINE_TLS_CERT), key: resolve(cwd, e.VOCALIS_ENGINE_TLS_KEY) }
          : undefined,
      tlsCa: e.VOCALIS_ENGINE_TLS_CA ? resolve(cwd, e.VOCALIS_ENGINE_TLS_CA) : undefined,
    },
    discord: e.DISCORD_TOKEN
      ? {
          token: e.DISCORD_TOKEN,
          applicationId: e.DISCORD_APPLICATION_ID,
          guildId: e.DISCORD_GUILD_ID,
          adminRole: e.DISCORD_ADMIN_ROLE,
          ...(e.DISCORD_API_ROOT ? { apiRoot: e.DISCORD_API_ROOT } : {}),
          ...(e.DISCORD_SHARDS !== undefined ? { shards: e.DISCORD_SHARDS } : {}),
        }
      : undefined,
    telegram: e.TELEGRAM_TOKEN
      ? {
          token: e.TELEGRAM_TOKEN,
          apiRoot: e.TELEGRAM_API_ROOT,
          webhookUrl: e.TELEGRAM_WEBHOOK_URL,
          webhookHost: e.TELEGRAM_WEBHOOK_HOST,
          webhookPort: e.TELEGRAM_WEBHOOK_PORT,
          operatorIds: e.TELEGRAM_OPERATOR_IDS,
        }
      : undefined,
    gptSovitsModelsDir: e.GPT_SOVITS_MODELS_DIR,
    gptSovitsStreaming: e.GPT_SOVITS_STREAMING,
    gptSovitsProvider: e.GPT_SOVITS_PROVIDER,
    gptSovitsTraining: e.GPT_SOVITS_HOME
      ? {
          home: e.GPT_SOVITS_HOME,
          python: e.GPT_SOVITS_PYTHON,
          version: e.GPT_SOVITS_VERSION,
          pretrainedDir: e.GPT_SOVITS_PRETRAINED_DIR,
          sovitsEpochs: e.GPT_SOVITS_SOVITS_EPOCHS,
          gptEpochs: e.GPT_SOVITS_GPT_EPOCHS,
          batchSize: e.GPT_SOVITS_BATCH_SIZE,
          gpuSlots: e.GPT_SOVITS_GPU_SLOTS,
          device: e.GPT_SOVITS_DEVICE,
        }
      : undefined,
  };
}

const MEASURE_CALIBRATION = 'npm run bench -- consent --speaker-onnx PATH measures both';

/** The ONNX settings belong together: each missing or impossible one is named. */
function speakerModelOf(e: z.infer<typeof schema>, cwd: string): SpeakerModelConfig | { problems: string[] } {
  if (e.VOCALIS_SPEAKER_MODEL === 'gmm-ubm') return { kind: 'gmm-ubm' };
  const problems: string[] = [];
  if (!e.VOCALIS_SPEAKER_ONNX_PATH) problems.push('VOCALIS_SPEAKER_ONNX_PATH: required with VOCALIS_SPEAKER_MODEL=onnx (the speaker-embedding model file)');
  const [, kind, bins] = /^(fbank|mel)(\d+)$/.exec(e.VOCALIS_SPEAKER_ONNX_FEATURES) ?? [];
  const melBins = Number(bins);
  if (!(melBins >= 20 && melBins <= 128)) problems.push('VOCALIS_SPEAKER_ONNX_FEATURES: between 20 and 128 mel bins');
  const calibration = e.VOCALIS_SPEAKER_ONNX_CALIBRATION?.split(',').map((x) => Number(x.trim()));
  if (!calibration) {
    problems.push(
      `VOCALIS_SPEAKER_ONNX_CALIBRATION: required with VOCALIS_SPEAKER_MODEL=onnx: "impostor,target", the cosine similarities the model typically gives two speakers and one speaker (${MEASURE_CALIBRATION})`,
    );
  } else if (calibration.length !== 2 || !calibration.every((c) => Number.isFinite(c) && c >= -1 && c <= 1) || calibration[0]! >= calibration[1]!) {
    problems.push(
      `VOCALIS_SPEAKER_ONNX_CALIBRATION: expected "impostor,target", two cosine similarities between -1 and 1, the first lower (${MEASURE_CALIBRATION})`,
    );
  }
  if (problems.length > 0) return { problems };
  return {
    kind: 'onnx',
    path: resolve(cwd, e.VOCALIS_SPEAKER_ONNX_PATH!),
    features: { kind: kind as 'fbank' | 'mel', melBins },
    windowFrames: e.VOCALIS_SPEAKER_ONNX_WINDOW_FRAMES,
    calibration: { impostor: calibration![0]!, target: calibration![1]! },
  };
}

/** For entry points: the configuration, or the one readable message and exit code 2. */
export function loadConfigOrExit(env: Readonly<Record<string, string | undefined>>): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}

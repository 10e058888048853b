import { mkdir } from 'node:fs/promises';
import type { Config } from '../config/config.ts';
import { ConsentGate } from '../consent/consent-gate.ts';
import { ConsentService } from '../consent/consent-service.ts';
import { ConsentStore } from '../consent/consent-store.ts';
import { AuditLedger } from '../consent/ledger.ts';
import { RetentionSweeper } from '../consent/retention.ts';
import { Revocation } from '../consent/revocation.ts';
import { FineTuneLifecycle } from '../core/finetune-lifecycle.ts';
import { createFineTuneProcessor } from '../core/finetune-processor.ts';
import type { CloneQueue, SpeechSynthesis, VoicePreparation } from '../core/ports.ts';
import { AudioSampleIntake } from '../core/audio-sample-intake.ts';
import { ConsentVerifier } from '../consent/verification/consent-verifier.ts';
import { VerificationStore } from '../consent/verification/verification-store.ts';
import { EnrolmentFiles } from '../storage/enrolment-files.ts';
import { defaultVoiceEvidence } from './consent-evidence.ts';
import { Vocalis } from '../core/vocalis.ts';
import { VocalisError } from '../core/user-facing-error.ts';
import type { VoiceBackend } from '../engine/backend.ts';
import { BackendRegistry } from '../engine/registry.ts';
import { SpeechEngine } from '../engine/speech-engine.ts';
import { VoiceCache } from '../engine/voice-cache.ts';
import { EmbeddedRedis } from '../jobs/embedded-redis.ts';
import { CloneInProgressError, FineTuneQueue } from '../jobs/finetune-queue.ts';
import { FineTuneWorker } from '../jobs/finetune-worker.ts';
import { redactRedisUrl, waitForRedis } from '../jobs/redis-connection.ts';
import type { Logger } from '../observability/logger.ts';
import { ClipAudioFiles, VoiceFileFolders } from '../storage/clip-audio-files.ts';
import { DataKeyStore } from '../storage/data-keys.ts';
import { DataPaths } from '../storage/data-paths.ts';
import { openDatabase } from '../storage/database.ts';
import { systemClock, type Clock } from '../storage/ids.ts';
import { JobHistory } from '../storage/job-history.ts';
import { loadMasterKey } from '../storage/master-key.ts';
import { UtteranceMarkRecords } from '../storage/utterance-marks.ts';
import { MarkChecker } from '../core/mark-check.ts';
import { deriveMarkKey } from '../engine/watermark/mark-key.ts';
import type { UtteranceMarks } from '../engine/watermark/utterance-marks.ts';
import { SampleClipIndex } from '../storage/sample-clips.ts';
import { ScratchDir, sweepStaleScratch } from '../storage/scratch-dir.ts';
import { eraseUserFiles } from '../storage/user-erasure.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { FilesystemBlobStore } from '../storage/filesystem-blob-store.ts';
import { S3BlobStore } from '../storage/s3-blob-store.ts';
import { UserDirectory } from '../storage/user-directory.ts';
import { VoiceCatalog } from '../storage/voice-catalog.ts';
import { createBackends } from './backends.ts';
import { openRemoteSpeech } from './remote-engine.ts';
import { ShutdownSequence } from './shutdown-sequence.ts';
import type { SqlDatabase } from '../storage/sql-database.ts';
import { ConsentChanges } from '../consent/consent-changes.ts';
import { ConsentChangeChannel } from '../jobs/consent-change-channel.ts';

export interface RuntimeNeeds {
  /** Connect to (or start) Redis and the fine-tune queue. */
  readonly queue: boolean;
  /** Run a fine-tune worker in this process (implies queue). */
  readonly worker?: boolean;
  /**
   * This process stops the runtime itself on SIGINT/SIGTERM (runUntilSignal), so its
   * embedded Redis runs in a process group of its own and is stopped last. Without it
   * (CLI commands) Redis shares the group: a Ctrl-C stops both, leaving no orphan.
   */
  readonly stopsOnSignals?: boolean;
}

export interface RuntimeOverrides {
  /** Tests pass their own backends; the service builds them from config. */
  readonly backends?: readonly VoiceBackend[];
  readonly clock?: Clock;
  /** BullMQ timings for tests (short stall detection). */
  readonly workerTimings?: { lockDurationMs?: number; stalledIntervalMs?: number; backoffMs?: number };
}

/** Everything one process needs, built from `Config` in one place. */
export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: SqlDatabase;
  readonly paths: DataPaths;
  /** Where encrypted clips, voiceprints and model files live: the data directory or the S3 bucket. */
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly users: UserDirectory;
  readonly ledger: AuditLedger;
  readonly consents: ConsentService;
  readonly gate: ConsentGate;
  readonly voices: VoiceCatalog;
  readonly jobs: JobHistory;
  readonly backends: BackendRegistry;
  /** Synthesis in this process (what an engine node serves with). */
  readonly speech: SpeechEngine;
  /** Voices loaded for `speech` (an engine node evicts revoked ones). */
  readonly voiceCache: VoiceCache;
  /** What the core speaks through: `speech`, or engine nodes on other hosts (VOCALIS_ENGINE=remote). */
  readonly synthesis: SpeechSynthesis;
  /** Preparing voices from their sample in this process (what an engine node does for bots). */
  readonly voicePreparation: VoicePreparation;
  readonly vocalis: Vocalis;
  readonly retention: RetentionSweeper;
  readonly queue: FineTuneQueue | null;
  readonly worker: FineTuneWorker | null;
  readonly redisUrl: string | null;
  close(): Promise<void>;
  /** The parts not closed yet (for the shutdown deadline's message). */
  stillOpen(): string[];
}

const VOICE_CACHE_BYTES = 512 * 1024 * 1024;

export async function openRuntime(config: Config, logger: Logger, needs: RuntimeNeeds, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const clock = overrides.clock ?? systemClock;
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const paths = new DataPaths(config.dataDir);
  await sweepStaleScratch(paths);
  const master = await loadMasterKey({ env: config.masterKey, keyFile: paths.masterKeyFile });
  const db = openDatabase(config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : paths.databaseFile);
  const closers = new ShutdownSequence(logger);
  closers.first('database', () => db.close());
  try {
    const blobs = openBlobStore(config, paths, logger);
    closers.first('file store', () => blobs.close());
    const ledger = new AuditLedger(db, { seal: (message) => master.hmac(message) }, clock);
    const keys = new DataKeyStore(db, master, clock);
    const users = new UserDirectory(db, clock);
    const store = new ConsentStore(db);
    const policy = {
      offerMinutes: config.retention.consentOfferMinutes,
      rawSampleRetentionDays: config.retention.rawSampleDays,
      voiceInactivityDays: config.retention.voiceInactivityDays,
      verification: config.consentVerification.mode,
    };
    // Committed consent changes reach this process's gate at once, other processes through Redis (below).
    const consentChanges = new ConsentChanges((error) => logger.warn({ err: error }, 'consent change announcement failed'));
    const consents = new ConsentService({ db, store, ledger, clock, policy, changes: consentChanges });
    // Consent decides; the engine's recognisers and speaker model answer through this port.
    const verifier = new ConsentVerifier({
      db,
      ledger,
      clock,
      store: new VerificationStore(db),
      evidence: await defaultVoiceEvidence(config.speakerModel),
      vault: new EnrolmentFiles(blobs, keys),
      policy: { ...config.consentVerification, maxMismatches: 3 },
    });
    const gate = new ConsentGate({ store, users, clock, changes: consentChanges, cachedChecks: db.dialect === 'postgres' });
    const clips = new SampleClipIndex(db, clock);
    const clipAudio = new ClipAudioFiles(blobs, keys);
    const voices = new VoiceCatalog(db, clock);
    const voiceFiles = new VoiceFileFolders(blobs, keys);
    const jobs = new JobHistory(db, clock);
    const backends = new BackendRegistry(overrides.backends ?? (await createBackends(config, logger)), config.backend);
    closers.first('voice backends', () => backends.close());
    const cache = new VoiceCache(VOICE_CACHE_BYTES);
    const markKey = deriveMarkKey((label) => master.hmac(label));
    const markRecords = new UtteranceMarkRecords(db, clock);
    const marks: UtteranceMarks = { key: markKey, issue: (u) => ({ keyId: markKey.keyId, token: markRecords.create({ keyId: markKey.keyId, ...u }) }) };
    const speech = new SpeechEngine({ backends, cache, filesFor: (t) => voiceFiles.files(t.userId, t.voiceId, t.version), marks });
    // Preparing a voice here: the backend reads the consented sample through the core (called once the core exists).
    const voicePreparation: VoicePreparation = {
      prepare: (t, signal) =>
        backends.get(t.backend).prepareSample(vocalis.sampleSource(t.userId, t.consentId), voiceFiles.files(t.userId, t.voiceId, t.version), signal),
    };
    const remote = config.engine.mode === 'remote' ? await openRemoteSpeech(config, logger, closers) : null;
    const synthesis: SpeechSynthesis = remote ?? speech;

    const wantQueue = needs.queue || needs.worker === true;
    const redisUrl = wantQueue ? await connectRedis(config, paths, logger, closers, needs.stopsOnSignals ?? false) : null;
    const queue = redisUrl
      ? new FineTuneQueue({
          url: redisUrl,
          attempts: config.jobAttempts,
          ...(overrides.workerTimings?.backoffMs ? { backoffMs: overrides.workerTimings.backoffMs } : {}),
        })
      : null;
    if (queue) closers.first('fine-tune queue', () => queue.close());
    const changesUrl = redisUrl ?? config.redisUrl;
    if (changesUrl) {
      const channel = new ConsentChangeChannel(changesUrl, (error) => logger.warn({ err: error }, 'consent change channel error'));
      closers.first('consent change channel', () => channel.close());
      await consentChanges.relayThrough(channel);
    }

    const cloneQueue: CloneQueue = queue
      ? queuePort(queue)
      : {
          enqueue: () => Promise.reject(new VocalisError('queue_unavailable', 'this process runs without the job queue')),
          position: () => Promise.resolve(null),
          purge: () => Promise.resolve(),
        };
    const lifecycle = new FineTuneLifecycle({ db, jobs, voices, consents, ledger, queue: cloneQueue });
    const revocation = new Revocation({
      db,
      users,
      consents,
      gate,
      keys,
      voices,
      clips,
      jobs: lifecycle,
      ledger,
      clock,
      marks: markRecords,
      hooks: {
        cancelJobs: (voiceIds) => lifecycle.purge(voiceIds),
        evictVoices: (voiceIds) => cache.evict(voiceIds),
        eraseFiles: (userId) => eraseUserFiles(blobs, userId),
      },
    });
    const vocalis = new Vocalis({
      db,
      clock,
      users,
      consents,
      gate,
      ledger,
      clips,
      clipAudio,
      voices,
      voiceFiles,
      jobs,
      backends,
      speech: synthesis,
      preparation: remote ?? voicePreparation,
      revocation,
      lifecycle,
      keys: { issue: (userId) => void keys.getOrCreate(userId) },
      queue: cloneQueue,
      intake: new AudioSampleIntake(),
      verifier,
      marks: new MarkChecker({ key: markKey, records: markRecords, users }),
    });
    const retention = new RetentionSweeper({
      store,
      clips,
      revocation,
      ledger,
      clock,
      policy: { rawSampleDays: config.retention.rawSampleDays, voiceInactivityDays: config.retention.voiceInactivityDays },
      deleteClipFiles: (userId, ids) => clipAudio.delete(userId, ids),
    });

    let worker: FineTuneWorker | null = null;
    if (needs.worker && redisUrl) {
      const process = createFineTuneProcessor({
        gate,
        lifecycle,
        voices,
        voiceFiles,
        backends,
        samples: vocalis,
        scratch: (jobId) => ScratchDir.create(paths, jobId),
      });
      worker = new FineTuneWorker({
        url: redisUrl,
        concurrency: config.workerConcurrency,
        ...(overrides.workerTimings?.lockDurationMs ? { lockDuration: overrides.workerTimings.lockDurationMs } : {}),
        ...(overrides.workerTimings?.stalledIntervalMs ? { stalledInterval: overrides.workerTimings.stalledIntervalMs } : {}),
        processor: (data, ctx) => process(data, ctx),
      });
      worker.on('failed', (ref, failure) => {
        lifecycle.failed(ref.jobId, failure);
        logger.warn({ jobId: ref.jobId, voiceId: ref.voiceId, attempt: failure.attempt, willRetry: failure.willRetry }, 'fine-tune attempt failed');
      });
      worker.on('cancelled', (ref) => {
        lifecycle.cancelled(ref.jobId);
        logger.info({ jobId: ref.jobId, voiceId: ref.voiceId }, 'fine-tune cancelled');
      });
      worker.on('completed', (ref) => logger.info({ jobId: ref.jobId, voiceId: ref.voiceId }, 'fine-tune completed'));
      worker.on('recovered', (run) =>
        logger.warn(
          { bullJobId: run.bullJobId, deadWorkerPid: run.deadWorker.pid },
          run.failing
            ? 'a fine-tune whose worker process died again was handed back to fail: it stalled too often'
            : 'a fine-tune whose worker process died goes back to the queue at once',
        ),
      );
      worker.on('error', (error) => logger.error({ err: error }, 'fine-tune worker error'));
      const started = worker;
      // On shutdown a running fine-tune gets half the shutdown deadline, then goes back to the queue for another worker.
      closers.first(
        'fine-tune worker',
        () => started.close({ timeoutMs: config.shutdownTimeoutMs / 2 }),
        () => started.activeJobs().map((ref) => `fine-tune ${ref.jobId}`),
      );
    }

    return {
      config,
      logger,
      db,
      paths,
      blobs,
      clock,
      users,
      ledger,
      consents,
      gate,
      voices,
      jobs,
      backends,
      speech,
      voiceCache: cache,
      synthesis,
      voicePreparation,
      vocalis,
      retention,
      queue,
      worker,
      redisUrl,
      close: () => closers.run(),
      stillOpen: () => closers.stillOpen(),
    };
  } catch (error) {
    await closers.run();
    throw error;
  }
}

/** The S3 bucket when VOCALIS_S3_BUCKET is set (workers then need no shared disk), else the data directory. */
function openBlobStore(config: Config, paths: DataPaths, logger: Logger): BlobStore {
  const s3 = config.objectStore;
  if (!s3) return new FilesystemBlobStore(paths);
  logger.info({ bucket: s3.bucket, endpoint: s3.endpoint ?? null, region: s3.region }, 'encrypted files are kept in the S3 bucket');
  return new S3BlobStore({ bucket: s3.bucket, region: s3.region, ...(s3.endpoint ? { endpoint: s3.endpoint } : {}) });
}

/** A process's shutdown order that ends with this runtime (its parts named while it closes); the process adds its own parts before it. */
export function shutdownEndingWith(runtime: Runtime, logger: Logger): ShutdownSequence {
  const stops = new ShutdownSequence(logger);
  stops.first(
    'runtime',
    () => runtime.close(),
    () => runtime.stillOpen(),
  );
  return stops;
}

/** The queue as the core sees it: a position number instead of BullMQ's states. */
function queuePort(queue: FineTuneQueue): CloneQueue {
  return {
    enqueue: async (job) => {
      try {
        await queue.enqueue(job);
      } catch (error) {
        if (error instanceof CloneInProgressError) throw new VocalisError('clone_in_progress', error.message);
        throw error;
      }
    },
    position: async (voiceId) => {
      const position = await queue.position(voiceId);
      if (!position) return null;
      return position.state === 'waiting' ? position.position : 0;
    },
    purge: async (voiceIds) => {
      // purgeVoice cancels a waiting or running job first, then removes every trace.
      for (const id of voiceIds) await queue.purgeVoice(id);
      // The AOF still holds the commands that wrote the ids and payloads: rewrite it from the purged data.
      if (voiceIds.length > 0) await queue.rewriteAppendOnlyFile();
    },
  };
}

/**
 * REDIS_URL when set; else the Redis a running Vocalis already started for this data
 * directory; else our own embedded redis-server, stopped when this runtime closes.
 */
async function connectRedis(config: Config, paths: DataPaths, logger: Logger, closers: ShutdownSequence, ownProcessGroup: boolean): Promise<string> {
  if (config.redisUrl) {
    await waitForRedis(config.redisUrl);
    logger.info({ redis: redactRedisUrl(config.redisUrl) }, 'using the configured Redis');
    return config.redisUrl;
  }
  const existing = await EmbeddedRedis.inspect(paths.redisDir);
  if (existing.status === 'shared') {
    logger.info(
      { redisPid: existing.redisPid, ownerPid: existing.owner?.pid },
      'using the Redis of the Vocalis process already running on this data directory',
    );
    return existing.url;
  }
  const redis = new EmbeddedRedis({ dir: paths.redisDir, ownProcessGroup });
  // Stopped last: everything before it may still write to Redis while closing.
  closers.last('embedded Redis', () => redis.stop());
  if (existing.status === 'orphaned') {
    await redis.takeOver(existing);
    logger.warn(
      { previousRedisPid: existing.redisPid, deadOwnerPid: existing.owner.pid, redisPid: redis.pid },
      'the embedded Redis of a Vocalis process that is gone was still running on this data directory: stopped it and started ours on the same data (nothing lost); ours stops with this process',
    );
  } else {
    await redis.start();
    logger.info({ redisPid: redis.pid }, 'started the embedded redis-server');
  }
  return redis.url;
}

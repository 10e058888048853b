import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRuntime, type Runtime, type RuntimeNeeds, type RuntimeOverrides } from '../../src/app/runtime.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { VoiceBackend } from '../../src/engine/backend.ts';
import { createLogger, type Logger } from '../../src/observability/logger.ts';
import { speakerFiles } from './speech-data.ts';
import { freshPostgresUrl, TEST_DIALECT } from './test-database.ts';
import { createToneBackend } from './tone-backend.ts';

export interface RuntimeFixture {
  readonly runtime: Runtime;
  readonly dataDir: string;
  readonly masterKey: string;
  close(): Promise<void>;
}

/**
 * A whole Vocalis runtime on a temp data directory: real SQLite, real encrypted files,
 * a real embedded redis-server, the real queue and worker — with a test backend.
 */
export async function startRuntime(
  options: {
    backends?: readonly VoiceBackend[];
    needs?: RuntimeNeeds;
    env?: Record<string, string>;
    overrides?: RuntimeOverrides;
    dataDir?: string;
    logger?: Logger;
  } = {},
): Promise<RuntimeFixture> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'vocalis-rt-')));
  const masterKey = options.env?.['VOCALIS_MASTER_KEY'] ?? randomBytes(32).toString('hex');
  const backends = options.backends ?? [createToneBackend()];
  const config = loadConfig({
    VOCALIS_DATA_DIR: dataDir,
    VOCALIS_MASTER_KEY: masterKey,
    VOCALIS_BACKEND: backends[0]?.info.name ?? 'tone',
    VOCALIS_JOB_ATTEMPTS: '2',
    // These runtimes clone recorded and synthetic speakers who never read our consent statement
    // (LibriSpeech, Allison, tones): verification is off for them, explicitly, as an operator would set it.
    // Tests of verification itself pass VOCALIS_CONSENT_VERIFICATION=required.
    VOCALIS_CONSENT_VERIFICATION: 'off',
    // Under the `postgres` project the state lives in a fresh PostgreSQL database.
    ...(TEST_DIALECT === 'postgres' ? { DATABASE_URL: freshPostgresUrl() } : {}),
    ...options.env,
  });
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const runtime = await openRuntime(config, logger, options.needs ?? { queue: true, worker: true }, {
    backends,
    workerTimings: { lockDurationMs: 2000, stalledIntervalMs: 1000, backoffMs: 100 },
    ...options.overrides,
  });
  return {
    runtime,
    dataDir,
    masterKey,
    async close() {
      await runtime.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A CLI user who consents everywhere, sends one clip of LibriSpeech speaker 3005 (verification
 * off, as the runtime is started) and whose fine-tune completes: what revocation tests erase.
 */
export async function clonedVoice(
  runtime: Runtime,
  platformUserId: string,
): Promise<{ identity: { platform: string; platformUserId: string }; userId: string; voiceId: string; jobId: string }> {
  const { vocalis, jobs, users } = runtime;
  const identity = { platform: 'cli', platformUserId };
  const offer = vocalis.offerConsent({ identity, language: 'en', context: { platform: 'cli', contextId: '*' } });
  vocalis.acceptConsent({ identity, consentId: offer.consent.id });
  const outcome = await vocalis.addClip({ identity, audio: await readFile(speakerFiles('3005')[0]!) });
  if (outcome.kind !== 'stored' || !outcome.clone) throw new Error(`the clip did not start a clone: ${outcome.kind}`);
  const { jobId, voiceId } = outcome.clone;
  await eventually(() => jobs.get(jobId)?.state === 'completed', 20_000, 'the fine-tune');
  return { identity, userId: users.find('cli', platformUserId)!.id, voiceId, jobId };
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | null | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

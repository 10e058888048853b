import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram/index.ts';
import { parseSynthesisEvent, type SynthesisEvent } from '../multi-host/fixtures/observed-tone-backend.ts';
import { type HostProcess, spawnNodeOnHost } from './multi-host-process.ts';
import { type ServicesHost, startServices } from './multi-host-services.ts';
import { Tunnels } from './multi-host-tunnels.ts';
import { createLan, type Lan } from './netns.ts';

/**
 * A whole multi-host Vocalis deployment on one machine: a LAN of network namespaces with the
 * services host (Redis, PostgreSQL, the object store), a bot host (the runtime with the
 * Telegram adapter, VOCALIS_ENGINE=remote, no synthesis of its own), two engine hosts
 * (`npm run engine`) and a fine-tune worker host (`npm run worker`). Every host has its own data
 * directory and shares nothing with another but the services and the master key, as separate
 * machines would. The chat platform (the fake Bot API) runs in the test process, reached by
 * the bot host as if over the internet. All use the test tone backend at a pace the test sets.
 */
export type EngineRole = 'engine-1' | 'engine-2';
export const ENGINE_ROLES: readonly EngineRole[] = ['engine-1', 'engine-2'];

export interface MultiHostCluster {
  readonly lan: Lan;
  readonly services: ServicesHost;
  readonly telegram: FakeTelegram;
  readonly bot: HostProcess;
  readonly engines: Readonly<Record<EngineRole, HostProcess>>;
  readonly worker: HostProcess;
  /** Each host's own data directory. */
  readonly dataDirs: Readonly<Record<'bot' | EngineRole | 'worker', string>>;
  /** The synthesis events a host's process has printed so far. */
  synthesisEvents(process: HostProcess): SynthesisEvent[];
  /** Runs the operator CLI (`vocalis …`) on a host, with that host's environment; resolves with its output when it exits. */
  cli(role: 'bot', args: readonly string[]): Promise<{ code: number | null; output: string }>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /** Delay per synthesised word on the engine hosts (the tone backend says one 0.2 s tone per word). */
  readonly wordMs: number;
}

const ENGINE_PORT = 7077;

export async function startCluster(options: ClusterOptions): Promise<MultiHostCluster> {
  const lan = await createLan(['services', 'bot', 'engine-1', 'engine-2', 'worker']);
  const cleanups: (() => Promise<void>)[] = [async () => lan.close()];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const tunnels = await Tunnels.open();
    cleanups.push(() => tunnels.close());
    const services = await startServices(lan.host('services'), tunnels);
    cleanups.push(() => services.close());
    const telegram = await startFakeTelegram();
    cleanups.push(() => telegram.close());
    const telegramPort = Number(new URL(telegram.apiRoot).port);
    await tunnels.fromHost(lan.host('bot'), { host: '127.0.0.1', port: telegramPort });

    const roles = ['bot', ...ENGINE_ROLES, 'worker'] as const;
    const dataDirs = Object.fromEntries(await Promise.all(roles.map(async (role) => [role, await mkdtemp(join(tmpdir(), `vmh-${role}-`))]))) as Record<
      (typeof roles)[number],
      string
    >;
    cleanups.push(async () => {
      for (const dir of Object.values(dataDirs)) await rm(dir, { recursive: true, force: true });
    });
    const shared = {
      ...services.env,
      VOCALIS_MASTER_KEY: randomBytes(32).toString('hex'),
      VOCALIS_ENGINE_SECRET: randomBytes(32).toString('hex'),
      // The tone backend clones tones and recordings of people who never read the consent statement.
      VOCALIS_CONSENT_VERIFICATION: 'off',
      VOCALIS_LOG_LEVEL: 'info',
      VOCALIS_HTTP_PORT: '0',
      TONE_WORD_MS: String(options.wordMs),
    };
    const hostEnv = (role: (typeof roles)[number]) => ({ ...shared, VOCALIS_DATA_DIR: dataDirs[role] });
    const botEnv = {
      ...hostEnv('bot'),
      VOCALIS_ENGINE: 'remote',
      VOCALIS_RUN_WORKER: 'false',
      TELEGRAM_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
    };
    const processes: HostProcess[] = [];
    cleanups.push(async () => {
      await Promise.all(processes.map((p) => p.stop(3000)));
    });
    const start = (role: (typeof roles)[number], label: string, entry: string, env: Record<string, string>) => {
      const child = spawnNodeOnHost(lan.host(role), label, entry, [], { env });
      processes.push(child);
      return child;
    };
    // The bot host first: its runtime applies the database's migrations before the others open it.
    const bot = start('bot', 'bot', 'test/multi-host/fixtures/bot-host.ts', botEnv);
    await bot.waitForLine(/"msg":"bot host running"/, 60_000);
    const engines = Object.fromEntries(
      ENGINE_ROLES.map((role) => {
        const address = `${lan.host(role).address}:${ENGINE_PORT}`;
        const env = { ...hostEnv(role), VOCALIS_ENGINE_LISTEN: address, VOCALIS_ENGINE_NODE_ID: role };
        return [role, start(role, 'engine node', 'test/multi-host/fixtures/engine-host.ts', env)];
      }),
    ) as Record<EngineRole, HostProcess>;
    const worker = start('worker', 'fine-tune worker', 'test/multi-host/fixtures/worker-host.ts', hostEnv('worker'));
    await Promise.all([
      ...ENGINE_ROLES.map((role) => engines[role].waitForLine(/"msg":"engine node running"/, 60_000)),
      worker.waitForLine(/"msg":"fine-tune worker running"/, 60_000),
    ]);
    return {
      lan,
      services,
      telegram,
      bot,
      engines,
      worker,
      dataDirs,
      synthesisEvents: (process) => process.lines().flatMap((line) => parseSynthesisEvent(line) ?? []),
      async cli(role, args) {
        const cli = spawnNodeOnHost(lan.host(role), 'vocalis', 'src/cli/main.ts', args, { env: botEnv });
        const { code } = await cli.exited;
        return { code, output: cli.lines().join('\n') };
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

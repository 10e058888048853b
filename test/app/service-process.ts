import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { isRunning } from '../../src/jobs/process-identity.ts';
import { REPO_ROOT } from '../support/spawn-node.ts';

/**
 * `npm start` as an operator runs it, for the signal and crash tests: the real service
 * (src/main.ts), optionally under the bootstrap or under npm itself, in a process group
 * of its own so the tests can signal the group as a terminal or a supervisor does.
 */
export type Launcher = 'service' | 'bootstrap' | 'npm' | 'tone-service' | 'tone-sharded-service';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** performance.now() when the launched process exited. */
  readonly at: number;
}

export interface ServiceProcess {
  /** The launched process (the service itself, the bootstrap, or npm); leader of its own process group. */
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logs: LogLine[];
  /** Everything written that is not a JSON log line (bootstrap and npm messages, stack traces). */
  readonly text: () => string;
  readonly ready: Promise<void>;
  readonly exited: Promise<Exit>;
  /** The pid of the service process itself, from its log. */
  servicePid(): number;
  /** The pid of the embedded redis-server, from its state file. */
  redisPid(): Promise<number>;
  /** SIGKILLs what is left of the process group, for `finally` blocks. */
  kill(): void;
}

const ENTRY: Record<Launcher, (node: string) => { command: string; args: string[] }> = {
  service: (node) => ({ command: node, args: ['--disable-warning=ExperimentalWarning', 'src/main.ts'] }),
  bootstrap: (node) => ({ command: node, args: ['scripts/bootstrap.mjs', 'start'] }),
  npm: () => ({ command: 'npm', args: ['start', '--silent'] }),
  // src/main.ts with the test tone backend (test/app/fixtures/tone-service.ts).
  'tone-service': (node) => ({ command: node, args: ['--disable-warning=ExperimentalWarning', 'test/app/fixtures/tone-service.ts'] }),
  // The same, with DISCORD_SHARDS: its shard processes use the tone backend too (test/app/fixtures/tone-discord-shard.ts).
  'tone-sharded-service': (node) => ({ command: node, args: ['--disable-warning=ExperimentalWarning', 'test/app/fixtures/tone-sharded-service.ts'] }),
};

export function launchService(launcher: Launcher, dataDir: string, env: Record<string, string> = {}, readyMessage = 'Vocalis is running'): ServiceProcess {
  const { command, args } = ENTRY[launcher](process.execPath);
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    // This Node (24) first on PATH, as the bootstrap arranges for npm's children.
    env: {
      PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
      HOME: process.env['HOME'] ?? '',
      VOCALIS_DATA_DIR: dataDir,
      VOCALIS_HTTP_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const logs: LogLine[] = [];
  let text = '';
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
  const ready = new Promise<void>((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => {
        const entry = parseLogLine(line);
        if (!entry) {
          text += `${line}\n`;
          return;
        }
        logs.push(entry);
        if (entry.msg === readyMessage) resolve();
      });
    }
    void exited.then((exit) =>
      reject(new Error(`${launcher} exited (${exit.code ?? exit.signal}) before "${readyMessage}":\n${text}${logs.map((l) => JSON.stringify(l)).join('\n')}`)),
    );
  });
  ready.catch(() => undefined);
  const pid = child.pid ?? 0;
  return {
    child,
    pid,
    logs,
    text: () => text,
    ready,
    exited,
    servicePid() {
      const running = logs.find((line) => line.msg === readyMessage);
      if (typeof running?.['pid'] !== 'number') throw new Error('the service has not logged its pid yet');
      return running['pid'];
    },
    async redisPid() {
      const state = JSON.parse(await readFile(join(dataDir, 'redis', 'embedded-redis.json'), 'utf8')) as { pid: number };
      return state.pid;
    },
    kill() {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    },
  };
}

function parseLogLine(line: string): LogLine | null {
  if (!line.startsWith('{')) return null;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    return typeof entry['msg'] === 'string' && typeof entry['level'] === 'number' ? (entry as LogLine) : null;
  } catch {
    return null;
  }
}

/** Waits until `pid` has exited; false after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (isRunning(pid)) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** SIGKILLs a process that a failed test may have left behind. */
export function killIfRunning(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

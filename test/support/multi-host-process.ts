import { type ChildProcess, spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { LanHost } from './netns.ts';
import { REPO_ROOT } from './spawn-node.ts';

/**
 * A process running on one host of a test LAN (`ip netns exec`, which execs the command, so
 * the pid is the command's own), in a process group of its own. Its output is kept line by
 * line so a test can wait for a line and a failure can show what the process said.
 */
export interface HostProcess {
  /** e.g. "engine-1: engine node". */
  readonly label: string;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Every line written to stdout and stderr so far. */
  lines(): readonly string[];
  /** The last lines, for failure messages. */
  tail(count?: number): string;
  /** The first line (past or future) that matches; rejects when the process exits first or on timeout. */
  waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs?: number): Promise<string>;
  /** Signals the process group (SIGTERM unless told), then SIGKILL after `graceMs`. Resolves when it has exited. */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<void>;
}

export interface HostProcessOptions {
  /** The environment, on top of PATH (this Node first) and HOME; nothing else is inherited. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Run as this user (setpriv), e.g. 'postgres', which refuses to run as root. */
  readonly user?: string;
}

const MAX_LINES = 5000;

export function spawnOnHost(host: LanHost, label: string, command: string, args: readonly string[], options: HostProcessOptions = {}): HostProcess {
  const asUser = options.user ? ['setpriv', `--reuid=${options.user}`, `--regid=${options.user}`, '--init-groups', '--'] : [];
  const child: ChildProcess = spawn('ip', ['netns', 'exec', host.namespace, ...asUser, command, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`, HOME: process.env['HOME'] ?? '/root', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const fullLabel = `${host.role}: ${label}`;
  const lines: string[] = [];
  const waiters = new Set<(line: string) => void>();
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (lines.length > MAX_LINES) lines.shift();
      for (const waiter of [...waiters]) waiter(line);
    });
  }
  let exitedNow = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedNow = true;
      resolve({ code, signal });
    });
    child.once('error', () => {
      exitedNow = true;
      resolve({ code: null, signal: null });
    });
  });
  const tail = (count = 40) => lines.slice(-count).join('\n');
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid ?? 0), signal);
    } catch {
      // the group is gone
    }
  };
  return {
    label: fullLabel,
    pid: child.pid ?? 0,
    exited,
    lines: () => lines,
    tail,
    waitForLine(match, timeoutMs = 30_000) {
      const test = typeof match === 'function' ? match : (line: string) => match.test(line);
      const past = lines.find(test);
      if (past !== undefined) return Promise.resolve(past);
      return new Promise<string>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        const waiter = (line: string) => {
          if (!test(line)) return;
          done();
          resolve(line);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${fullLabel}: no line matching ${String(match)} within ${timeoutMs} ms; it said:\n${tail()}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then(({ code, signal }) => {
          if (!waiters.has(waiter)) return;
          done();
          reject(new Error(`${fullLabel} exited (${code ?? signal}) before a line matching ${String(match)}; it said:\n${tail()}`));
        });
      });
    },
    async stop(graceMs = 5000, signal = 'SIGTERM') {
      if (exitedNow) return;
      signalGroup(signal);
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A TypeScript entry point of this repository, run with this Node (24) on a host. */
export function spawnNodeOnHost(host: LanHost, label: string, entry: string, args: readonly string[], options: HostProcessOptions = {}): HostProcess {
  return spawnOnHost(host, label, process.execPath, ['--disable-warning=ExperimentalWarning', entry, ...args], options);
}

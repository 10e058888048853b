/**
 * Runs one upstream script as a child process in its own process group (spawn detached), hands
 * every output line (split on \n and tqdm's \r) to a callback, and stops the WHOLE group on abort:
 * SIGTERM to -pid, SIGKILL after a grace period. PyTorch data loaders and Lightning fork workers;
 * killing only the direct child would leave them holding the GPU. The group is also killed after
 * a normal exit, for the same reason.
 */
import { spawn } from 'node:child_process';

export interface RunSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  readonly killGraceMs: number;
  onLine?(line: string): void;
  /** The failure hint as it changes, also for runs that exit 0 (upstream's per-line tracebacks). */
  onHint?(hint: FailureHint): void;
}

export type RunOutcome = { readonly kind: 'exited'; readonly code: number; readonly failure: FailureHint | null } | { readonly kind: 'stopped' };

export interface FailureHint {
  readonly code: 'disk_full' | 'gpu_out_of_memory' | 'trainer_crashed';
  /** An exception class name or a fixed phrase: never a whole output line (it may quote text). */
  readonly reason: string;
}

/** Classifies a failed run from its output without keeping the output (it may contain transcripts). */
export class FailureScanner {
  #hint: FailureHint | null = null;
  see(line: string): void {
    if (/No space left on device|Errno 28|ENOSPC/i.test(line)) this.#hint = { code: 'disk_full', reason: 'no space left on device' };
    else if (this.#hint?.code === 'disk_full') return;
    else if (/CUDA out of memory|OutOfMemoryError/.test(line)) this.#hint = { code: 'gpu_out_of_memory', reason: 'CUDA out of memory' };
    else if (this.#hint?.code !== 'gpu_out_of_memory') {
      const m = /^([A-Za-z_][\w.]*(?:Error|Exception))\b/.exec(line.trim());
      if (m) this.#hint = { code: 'trainer_crashed', reason: m[1]! };
    }
  }
  get hint(): FailureHint | null {
    return this.#hint;
  }
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}

export function runProcess(spec: RunSpec): { pid: number | undefined; stop(): void; done: Promise<RunOutcome> } {
  const child = spawn(spec.command, [...spec.args], {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const scanner = new FailureScanner();
  let stopped = false;
  let killTimer: NodeJS.Timeout | null = null;
  const pid = child.pid;
  const stop = (): void => {
    if (stopped || pid === undefined) return;
    stopped = true;
    killGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), spec.killGraceMs);
    killTimer.unref();
  };
  const lineSplitter = (): ((chunk: Buffer) => void) => {
    let rest = '';
    return (chunk) => {
      const parts = (rest + chunk.toString('utf8')).split(/\r\n|\r|\n/);
      rest = parts.pop() ?? '';
      for (const line of parts) {
        if (!line) continue;
        const before = scanner.hint;
        scanner.see(line);
        if (scanner.hint && scanner.hint !== before) spec.onHint?.(scanner.hint);
        spec.onLine?.(line);
      }
      if (rest.length > 65_536) rest = rest.slice(-65_536);
    };
  };
  child.stdout.on('data', lineSplitter());
  child.stderr.on('data', lineSplitter());
  const onAbort = (): void => stop();
  spec.signal.addEventListener('abort', onAbort, { once: true });
  if (spec.signal.aborted) stop();
  const done = new Promise<RunOutcome>((resolve) => {
    child.once('error', () => {
      spec.signal.removeEventListener('abort', onAbort);
      resolve({ kind: 'exited', code: 127, failure: { code: 'trainer_crashed', reason: `cannot start ${spec.command}` } });
    });
    child.once('close', (code, sig) => {
      spec.signal.removeEventListener('abort', onAbort);
      if (pid !== undefined) {
        // Reap stray workers of the group; a stopped group gets the SIGKILL now, not after the grace.
        killGroup(pid, 'SIGKILL');
      }
      if (killTimer) clearTimeout(killTimer);
      if (stopped) resolve({ kind: 'stopped' });
      else resolve({ kind: 'exited', code: code ?? (sig ? 128 : 1), failure: code === 0 ? null : scanner.hint });
    });
  });
  return { pid, stop, done };
}

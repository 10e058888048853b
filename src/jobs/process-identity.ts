import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who a process is, precisely enough to tell later whether it is still the same
 * process: a pid alone can be reused after the process died (containers restart with
 * low pids), so on Linux the kernel's start time of the process is recorded too.
 */
export interface ProcessIdentity {
  readonly pid: number;
  readonly host: string;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22); null where unknown. */
  readonly startTicks: number | null;
}

/** 'unknown': the process lives on another host, so this one cannot look. */
export type ProcessLiveness = 'alive' | 'dead' | 'unknown';

export function currentProcess(): ProcessIdentity {
  return { pid: process.pid, host: hostname(), startTicks: startTicksOf(process.pid) };
}

export function livenessOf(identity: ProcessIdentity): ProcessLiveness {
  if (identity.host !== hostname()) return 'unknown';
  if (!isRunning(identity.pid)) return 'dead';
  if (identity.startTicks === null) return 'alive';
  const ticks = startTicksOf(identity.pid);
  // A different start time: the pid now belongs to another process.
  return ticks === null || ticks === identity.startTicks ? 'alive' : 'dead';
}

export function parseProcessIdentity(value: unknown): ProcessIdentity | null {
  if (typeof value !== 'object' || value === null) return null;
  const { pid, host, startTicks } = value as Record<string, unknown>;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || typeof host !== 'string') return null;
  if (startTicks !== null && typeof startTicks !== 'number') return null;
  return { pid, host, startTicks };
}

/** Whether `pid` is a process that still runs: a zombie (exited, not yet reaped) does not. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive but owned by another user.
    if (!(error instanceof Error && 'code' in error && error.code === 'EPERM')) return false;
  }
  return statFields(pid)?.[0] !== 'Z';
}

function startTicksOf(pid: number): number | null {
  const fields = statFields(pid);
  const ticks = fields ? Number(fields[19]) : Number.NaN;
  return Number.isFinite(ticks) ? ticks : null;
}

/** The fields of /proc/<pid>/stat after the command name, which may itself contain spaces and parentheses. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * One training per GPU by default, across every worker process on the host: a slot is a lock
 * file `gpu-<device>-<slot>.lock` created exclusively (O_EXCL) holding the owner's pid. A lock
 * whose pid is gone (crashed worker) is taken over. Workers on other hosts have their own GPUs and
 * lock directories; the BullMQ queue spreads jobs between hosts.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface GpuLease {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryTake(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o600);
    await handle.writeFile(String(process.pid));
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(owner) && owner > 0 && (owner === process.pid || alive(owner))) return false;
  await unlink(path).catch(() => undefined); // stale: its worker died
  return false;
}

/** Waiters in this process, in arrival order, for the "position in line" the user sees. */
const waiting: symbol[] = [];
/** Slots this process holds, so two jobs of one process never share a slot file. */
const heldHere = new Set<string>();

export async function acquireGpu(
  lockDir: string,
  device: string,
  slots: number,
  signal: AbortSignal,
  onWait: (position: number) => void,
  pollMs = 250,
): Promise<GpuLease> {
  await mkdir(lockDir, { recursive: true, mode: 0o700 });
  const me = Symbol('waiter');
  waiting.push(me);
  let lastPosition = -1;
  try {
    for (;;) {
      signal.throwIfAborted();
      if (waiting[0] === me) {
        for (let slot = 0; slot < slots; slot++) {
          const path = join(lockDir, `gpu-${device.replace(/[^\w-]/g, '_')}-${slot}.lock`);
          if (heldHere.has(path)) continue;
          if (await tryTake(path)) {
            heldHere.add(path);
            let released = false;
            return {
              release: async () => {
                if (released) return;
                released = true;
                heldHere.delete(path);
                await unlink(path).catch(() => undefined);
              },
            };
          }
        }
      }
      const position = waiting.indexOf(me) + 1;
      if (position !== lastPosition) {
        lastPosition = position;
        onWait(position);
      }
      await sleep(pollMs, undefined, { signal });
    }
  } finally {
    waiting.splice(waiting.indexOf(me), 1);
  }
}

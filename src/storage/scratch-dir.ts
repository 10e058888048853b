import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { assertSafeId, type DataPaths } from './data-paths.ts';

/**
 * A job's private plaintext folder (0700). Decrypted audio and intermediate files
 * exist on disk only here, and the folder goes when the job ends, fails or is cancelled:
 * `await using scratch = await ScratchDir.create(paths, jobId)`.
 */
export class ScratchDir implements AsyncDisposable {
  readonly path: string;
  #disposed = false;

  private constructor(path: string) {
    this.path = path;
  }

  /** Makes a fresh folder for the job; a leftover from an earlier attempt of the same job is wiped first. */
  static async create(paths: DataPaths, jobId: string): Promise<ScratchDir> {
    assertSafeId(jobId, 'job id');
    // The owner's pid is in the name, so a sweep can tell a live job's folder from a crashed one's.
    const dir = paths.scratchDir(`p${process.pid}-${jobId}`);
    await paths.ensureDir(paths.scratchRoot);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o700 });
    return new ScratchDir(dir);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Removes the folder and all it holds. Safe to call more than once. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    await rm(this.path, { recursive: true, force: true, maxRetries: 3 });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

/**
 * Removes scratch folders left by processes that are gone (a crash or a kill skipped
 * their disposal), and anything else found there. Folders of other live processes
 * sharing the data dir are kept. Call at start, before this process runs any job:
 * folders carrying this process's own pid can only be leftovers of a reused pid.
 * Returns how many entries were removed.
 */
export async function sweepStaleScratch(paths: DataPaths): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(paths.scratchRoot);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return 0;
    throw error;
  }
  let removed = 0;
  for (const entry of entries) {
    const owner = /^p(\d+)-/.exec(entry)?.[1];
    if (owner !== undefined && Number(owner) !== process.pid && isAlive(Number(owner))) continue;
    await rm(join(paths.scratchRoot, entry), { recursive: true, force: true, maxRetries: 3 });
    removed += 1;
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
}

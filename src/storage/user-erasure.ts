import { lstat, readdir, rm } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { join } from 'node:path';
import type { DataPaths } from './data-paths.ts';

export interface ErasedFiles {
  readonly files: number;
  readonly bytes: number;
}

/**
 * Deletes a user's whole folder (samples and every voice version) and reports what went,
 * for the deletion receipt. The caller destroys the user's data key FIRST: the files are
 * ciphertext under that key, so any copy that escapes this deletion is already unreadable,
 * and a writer that was mid-flight cannot get the key to add more.
 */
export async function eraseUserFiles(paths: DataPaths, userId: string): Promise<ErasedFiles> {
  const dir = paths.userDir(userId);
  let files = 0;
  let bytes = 0;
  // A write that fetched the key just before it was destroyed may still land a file;
  // a second pass catches it.
  for (let pass = 0; pass < 3; pass += 1) {
    const found = await measure(dir);
    if (!found) break;
    files += found.files;
    bytes += found.bytes;
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }
  return { files, bytes };
}

/** Counts regular files and their bytes under `dir` without following links; null if absent. */
async function measure(dir: string): Promise<ErasedFiles | null> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return null;
    throw error;
  }
  let files = 0;
  let bytes = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = await measure(path);
      files += inner?.files ?? 0;
      bytes += inner?.bytes ?? 0;
    } else if (entry.isFile()) {
      files += 1;
      bytes += await lstat(path).then(
        (s) => s.size,
        () => 0,
      );
    }
  }
  return { files, bytes };
}

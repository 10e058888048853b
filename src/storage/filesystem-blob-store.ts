import { constants, type Dirent } from 'node:fs';
import { type FileHandle, lstat, open, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BlobNotFoundError, type BlobRead, type BlobStore, type StoredObject } from './blob-store.ts';
import type { DataPaths } from './data-paths.ts';
import { type FileSink, fileContents, nodeFileSink, writeAtomically } from './encrypted-file.ts';
import { keySegments } from './object-keys.ts';

/**
 * Objects as files in the data directory (the embedded default): object `K` is `<data>/K`,
 * written atomically (temp file, fsync, rename, fsync of the folder), folders 0700, files 0600,
 * never following a link; a full disk is `StorageFullError`.
 */
export class FilesystemBlobStore implements BlobStore {
  readonly kind = 'filesystem';
  readonly #paths: DataPaths;
  readonly #sink: FileSink;

  /** `sink` is injected only by tests that simulate a failing disk. */
  constructor(paths: DataPaths, options: { sink?: FileSink } = {}) {
    this.#paths = paths;
    this.#sink = options.sink ?? nodeFileSink;
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, length: number, signal?: AbortSignal): Promise<void> {
    const path = this.#file(key);
    await this.#paths.ensureDir(dirname(path));
    await writeAtomically(path, this.#sink, async (out) => {
      let position = 0;
      for await (const piece of body) {
        signal?.throwIfAborted();
        if (position + piece.byteLength > length) throw new RangeError('the object is longer than declared');
        await out.write(piece, position);
        position += piece.byteLength;
      }
      if (position !== length) throw new RangeError('the object is shorter than declared');
    });
  }

  async get(key: string): Promise<BlobRead> {
    let handle: FileHandle;
    try {
      handle = await open(this.#file(key), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if (isMissing(error)) throw new BlobNotFoundError();
      throw error;
    }
    try {
      const size = (await handle.stat()).size;
      return { size, body: contents(handle) };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async has(key: string): Promise<boolean> {
    try {
      return (await stat(this.#file(key))).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#file(key), { force: true });
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const found: StoredObject[] = [];
    await walk(this.#folder(prefix), prefix, found);
    return found;
  }

  /** Removes the prefix's whole folder, so no empty folders of the user stay either. */
  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.#folder(prefix), { recursive: true, force: true, maxRetries: 3 });
  }

  async close(): Promise<void> {}

  #file(key: string): string {
    return join(this.#paths.root, ...keySegments(key, 'key'));
  }

  #folder(prefix: string): string {
    return join(this.#paths.root, ...keySegments(prefix, 'prefix'));
  }
}

/** The file's bytes from the start; the handle closes when the stream ends or is stopped. */
async function* contents(handle: FileHandle): AsyncGenerator<Uint8Array> {
  try {
    yield* fileContents(handle);
  } finally {
    await handle.close();
  }
}

/** Every regular file below `dir` (temp files of unfinished writes too), without following links. */
async function walk(dir: string, prefix: string, into: StoredObject[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error)) return;
    throw error;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, `${prefix}${entry.name}/`, into);
    else if (entry.isFile()) {
      const size = await lstat(path).then(
        (s) => s.size,
        () => 0,
      );
      into.push({ key: `${prefix}${entry.name}`, size });
    }
  }
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}

import { rm, stat } from 'node:fs/promises';
import type { VoiceFiles } from '../engine/backend.ts';
import type { DataKey } from './data-keys.ts';
import type { DataPaths } from './data-paths.ts';
import { readEncryptedFile, readEncryptedFileAll, writeEncryptedFile, type FileSink } from './encrypted-file.ts';
import { StorageError } from './storage-error.ts';

/** Where the store gets the user's key; `DataKeyStore` fits. Never creates one. */
export interface DataKeySource {
  get(userId: string): DataKey | null;
}

/** The user's data key, or DataKeyMissingError: every encrypted file of the user needs it. */
export function requireDataKey(keys: DataKeySource, userId: string): DataKey {
  const key = keys.get(userId);
  if (!key) throw new DataKeyMissingError();
  return key;
}

export class DataKeyMissingError extends StorageError {
  declare readonly code: 'data_key_missing';
  constructor() {
    super('data_key_missing', "the user's data key does not exist (never created, or destroyed by a revocation)");
    this.name = 'DataKeyMissingError';
  }
}

export interface VoiceFileStoreOptions {
  readonly paths: DataPaths;
  readonly keys: DataKeySource;
  readonly userId: string;
  readonly voiceId: string;
  readonly version: number;
  /** Injected only by tests that simulate a failing disk. */
  readonly sink?: FileSink;
}

/**
 * A voice version's model files, each encrypted with its owner's data key and bound to
 * user/voice/version/name. The key is looked up on every call rather than held: once a
 * revocation shreds it, an in-flight job can neither read nor write any more files.
 */
export class VoiceFileStore implements VoiceFiles {
  readonly #o: VoiceFileStoreOptions;

  constructor(options: VoiceFileStoreOptions) {
    // Validate the ids now, so a bad id fails at construction and not in the middle of a job.
    options.paths.voiceVersionDir(options.userId, options.voiceId, options.version);
    this.#o = options;
  }

  get dir(): string {
    const o = this.#o;
    return o.paths.voiceVersionDir(o.userId, o.voiceId, o.version);
  }

  async write(name: string, data: Uint8Array): Promise<void> {
    const path = this.#path(name);
    const key = this.#key();
    await this.#o.paths.ensureDir(this.dir);
    await writeEncryptedFile(path, key, this.#identity(name), data, this.#o.sink ? { sink: this.#o.sink } : {});
  }

  async read(name: string): Promise<Uint8Array> {
    return readEncryptedFileAll(this.#path(name), this.#key(), this.#identity(name));
  }

  /** Streams a large model file without holding it whole in memory. */
  stream(name: string): AsyncIterable<Uint8Array> {
    return readEncryptedFile(this.#path(name), this.#key(), this.#identity(name));
  }

  async has(name: string): Promise<boolean> {
    try {
      return (await stat(this.#path(name))).isFile();
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return false;
      throw error;
    }
  }

  /** Empties the version folder: a failed attempt's number is reused, so writers start clean. */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  #path(name: string): string {
    const o = this.#o;
    return o.paths.voiceFile(o.userId, o.voiceId, o.version, name);
  }

  #identity(name: string): string {
    const o = this.#o;
    return o.paths.voiceFileIdentity(o.userId, o.voiceId, o.version, name);
  }

  #key(): DataKey {
    return requireDataKey(this.#o.keys, this.#o.userId);
  }
}

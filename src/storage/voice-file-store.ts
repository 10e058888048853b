import type { VoiceFiles } from '../engine/backend.ts';
import type { BlobStore } from './blob-store.ts';
import type { DataKey } from './data-keys.ts';
import { getEncrypted, getEncryptedAll, putEncrypted } from './encrypted-blobs.ts';
import { voiceFileIdentity, voiceFileKey, voiceVersionPrefix } from './object-keys.ts';
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
  /** Where the encrypted files live: the data directory or an object store. */
  readonly store: BlobStore;
  readonly keys: DataKeySource;
  readonly userId: string;
  readonly voiceId: string;
  readonly version: number;
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
    voiceVersionPrefix(options.userId, options.voiceId, options.version);
    this.#o = options;
  }

  /** The object-key prefix of this version's files (`users/<u>/voices/<v>/v<n>/`). */
  get prefix(): string {
    const o = this.#o;
    return voiceVersionPrefix(o.userId, o.voiceId, o.version);
  }

  async write(name: string, data: Uint8Array): Promise<void> {
    const objectKey = this.#key(name);
    await putEncrypted(this.#o.store, objectKey, this.#dataKey(), this.#identity(name), data);
  }

  async read(name: string): Promise<Uint8Array> {
    return getEncryptedAll(this.#o.store, this.#key(name), this.#dataKey(), this.#identity(name));
  }

  /** Streams a large model file without holding it whole in memory. */
  stream(name: string): AsyncIterable<Uint8Array> {
    return getEncrypted(this.#o.store, this.#key(name), this.#dataKey(), this.#identity(name));
  }

  async has(name: string): Promise<boolean> {
    return this.#o.store.has(this.#key(name));
  }

  /** Empties the version: a failed attempt's number is reused, so writers start clean. */
  async clear(): Promise<void> {
    await this.#o.store.deletePrefix(this.prefix);
  }

  #key(name: string): string {
    const o = this.#o;
    return voiceFileKey(o.userId, o.voiceId, o.version, name);
  }

  #identity(name: string): string {
    const o = this.#o;
    return voiceFileIdentity(o.userId, o.voiceId, o.version, name);
  }

  #dataKey(): DataKey {
    return requireDataKey(this.#o.keys, this.#o.userId);
  }
}

import { StorageError } from './storage-error.ts';

/**
 * Where encrypted files live: the data directory (`FilesystemBlobStore`, the embedded default) or
 * an S3 bucket (`S3BlobStore`). Stores only move ciphertext; encryption happens above them
 * (`encrypted-blobs.ts`), so a store never sees a key or plaintext. Keys come from `object-keys.ts`.
 */
export interface BlobStore {
  /** For logs and the deletion receipt: `filesystem` or `s3`. */
  readonly kind: 'filesystem' | 's3';
  /**
   * Stores exactly `length` bytes from `body` at `key`, atomically: a reader sees the previous
   * object or the whole new one, and a failed put leaves nothing new behind.
   */
  put(key: string, body: AsyncIterable<Uint8Array>, length: number, signal?: AbortSignal): Promise<void>;
  /** Opens an object for streaming; `BlobNotFoundError` if there is none. */
  get(key: string): Promise<BlobRead>;
  has(key: string): Promise<boolean>;
  /** Deletes one object; deleting a missing one is no error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix` (which ends with `/`), with its size. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Deletes every object under `prefix`. Callers that must prove it list again afterwards. */
  deletePrefix(prefix: string): Promise<void>;
  close(): Promise<void>;
}

export interface BlobRead {
  /** The object's size as the store reports it; the reader checks the stream against it. */
  readonly size: number;
  /** The bytes, in pieces of any size. Stopping early releases the underlying file or connection. */
  readonly body: AsyncIterable<Uint8Array>;
}

export interface StoredObject {
  readonly key: string;
  readonly size: number;
}

export class BlobNotFoundError extends StorageError {
  declare readonly code: 'not_found';
  constructor() {
    // The key is not echoed: it names a user.
    super('not_found', 'the stored file does not exist');
    this.name = 'BlobNotFoundError';
  }
}

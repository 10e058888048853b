/**
 * The storage part's one error type, with a closed set of codes. Its subclasses say which
 * check failed; callers test the type (or the code), never the message.
 */
export type EncryptedFileErrorCode = 'tampered' | 'truncated' | 'wrong_key' | 'not_encrypted';

export type StorageErrorCode =
  | EncryptedFileErrorCode
  | 'storage_full'
  | 'data_key_missing'
  /** The state database (PostgreSQL) did not answer in time or the connection was lost. */
  | 'database_unavailable'
  /** No stored file under that key. */
  | 'not_found'
  /** The object store did not answer (down, unreachable, timed out). */
  | 'store_unavailable'
  /** The object store answered with a refusal (access denied, no such bucket, …). */
  | 'store_refused'
  /** A user's files were deleted, yet listing their prefix afterwards still found some. */
  | 'erasure_incomplete';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}

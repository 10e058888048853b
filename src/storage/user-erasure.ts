import type { BlobStore } from './blob-store.ts';
import { userPrefix } from './object-keys.ts';
import { StorageError } from './storage-error.ts';

export interface ErasedFiles {
  readonly files: number;
  readonly bytes: number;
  /**
   * The proof: the user's prefix was listed after the deletion and held nothing. Only an
   * empty listing produces this record; anything else is an `ErasureIncompleteError`.
   */
  readonly proof: { readonly store: BlobStore['kind']; readonly prefix: string; readonly listedAfter: 0 };
}

/** Deletion passes before a non-empty listing is a failure. */
const PASSES = 3;

/** Listing the user's prefix after deleting it still found objects. */
export class ErasureIncompleteError extends StorageError {
  declare readonly code: 'erasure_incomplete';
  readonly remaining: number;
  constructor(remaining: number) {
    super('erasure_incomplete', `${remaining} of the user's files were still listed after deleting them`);
    this.name = 'ErasureIncompleteError';
    this.remaining = remaining;
  }
}

/**
 * Deletes everything under the user's prefix (samples, voiceprints, every voice version),
 * reports what went for the deletion receipt, and proves it by listing the prefix again:
 * the result carries the empty listing, or this throws `ErasureIncompleteError`.
 * The caller destroys the user's data key FIRST: the files are ciphertext under that key, so
 * any copy that escapes this deletion is already unreadable, and a writer that was
 * mid-flight cannot get the key to add more. A write that fetched the key just before it
 * was destroyed may still land an object; the next pass catches it.
 */
export async function eraseUserFiles(store: BlobStore, userId: string): Promise<ErasedFiles> {
  const prefix = userPrefix(userId);
  let files = 0;
  let bytes = 0;
  for (let pass = 0; pass < PASSES; pass += 1) {
    const found = await store.list(prefix);
    if (found.length === 0) return { files, bytes, proof: { store: store.kind, prefix, listedAfter: 0 } };
    files += found.length;
    bytes += found.reduce((sum, object) => sum + object.size, 0);
    await store.deletePrefix(prefix);
  }
  const left = await store.list(prefix);
  if (left.length > 0) throw new ErasureIncompleteError(left.length);
  return { files, bytes, proof: { store: store.kind, prefix, listedAfter: 0 } };
}

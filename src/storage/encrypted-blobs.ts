import type { BlobStore } from './blob-store.ts';
import { decryptStream, DEFAULT_CHUNK_SIZE, encryptedSize, encryptToStream, type FileKey, type WrittenFile } from './encrypted-file.ts';

/**
 * The encrypted file format (`encrypted-file.ts`, unchanged byte for byte) over a `BlobStore`:
 * plaintext is sealed chunk by chunk into the store's upload and opened chunk by chunk from its
 * download, so neither side ever holds a whole file, and the store only ever sees ciphertext.
 */

/** Plaintext to store: bytes in memory, or a stream of a length known up front (the header carries it). */
export type PlaintextSource = Uint8Array | { readonly stream: AsyncIterable<Uint8Array>; readonly length: number };

export interface PutEncryptedOptions {
  readonly chunkSize?: number;
  readonly signal?: AbortSignal;
}

export async function putEncrypted(
  store: BlobStore,
  objectKey: string,
  key: FileKey,
  identity: string,
  source: PlaintextSource,
  options: PutEncryptedOptions = {},
): Promise<WrittenFile> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const [stream, length] = source instanceof Uint8Array ? [source, source.byteLength] : [source.stream, source.length];
  const storedBytes = encryptedSize(length, chunkSize);
  const body = encryptToStream(key, identity, stream, length, { chunkSize, ...(options.signal ? { signal: options.signal } : {}) });
  await store.put(objectKey, body, storedBytes, options.signal);
  return { plaintextBytes: length, storedBytes };
}

/** Streams a stored file's plaintext, one authenticated chunk at a time. */
export async function* getEncrypted(store: BlobStore, objectKey: string, key: FileKey, identity: string): AsyncGenerator<Uint8Array, void, undefined> {
  const object = await store.get(objectKey);
  yield* decryptStream(object.body, object.size, key, identity);
}

/** The whole decrypted file in memory; for clips, voiceprints and the model files a backend loads whole. */
export async function getEncryptedAll(store: BlobStore, objectKey: string, key: FileKey, identity: string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of getEncrypted(store, objectKey, key, identity)) parts.push(part);
  return Buffer.concat(parts);
}

import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { BlobNotFoundError, type BlobRead, type BlobStore, type StoredObject } from './blob-store.ts';
import { keySegments } from './object-keys.ts';
import { StorageError } from './storage-error.ts';

export interface S3BlobStoreOptions {
  readonly bucket: string;
  /** An S3-compatible store's URL (path-style addressing then); unset → AWS S3 in `region`. */
  readonly endpoint?: string;
  readonly region: string;
}

/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;
/** Bytes per upload part (S3 wants at least 5 MiB for all but the last); also the most a put holds in memory. */
const PART_BYTES = 8 * 1024 * 1024;

/**
 * Objects in an S3 bucket through the S3 API, so any S3-compatible store works. Credentials come
 * from the SDK's own chain (environment, shared files, instance roles), never from Vocalis' config.
 * A put sends the ciphertext as it is sealed, one part at a time (see `put`); a get streams
 * the response body.
 *
 * Bodies go plain (`requestChecksumCalculation: 'WHEN_REQUIRED'`): the SDK's default streams
 * uploads as `aws-chunked` with a trailing CRC, which several S3-compatible stores (the test
 * server among them) store verbatim or refuse. The file format authenticates every chunk
 * itself, so a damaged transfer still fails on read.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #where: string;

  constructor(options: S3BlobStoreOptions) {
    this.#bucket = options.bucket;
    this.#where = options.endpoint ? `${new URL(options.endpoint).host}/${options.bucket}` : `s3:${options.region}/${options.bucket}`;
    this.#client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // A store that stops answering fails the call instead of hanging it: 5 s to connect, 60 s of silence on a socket.
      requestHandler: { connectionTimeout: 5000, requestTimeout: 60_000 },
    });
  }

  /**
   * Up to one part: the body is gathered first and sent in one PutObject, so a body that fails
   * never reaches the store. Larger: a multipart upload, one part in memory at a time, published
   * only by CompleteMultipartUpload once every byte arrived, and aborted on any failure (a
   * streamed PutObject cut short is kept as a short object by some S3-compatible servers).
   */
  async put(key: string, body: AsyncIterable<Uint8Array>, length: number, signal?: AbortSignal): Promise<void> {
    keySegments(key, 'key');
    const parts = inParts(body, length, PART_BYTES, signal);
    if (length <= PART_BYTES) {
      const first = await parts.next();
      const whole = first.done ? Buffer.alloc(0) : first.value;
      if (!(await parts.next()).done) throw new RangeError('the object is longer than declared');
      await this.#send('PutObject', signal, (o) =>
        this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: whole, ContentLength: whole.byteLength }), o),
      );
      return;
    }
    const { UploadId } = await this.#send('CreateMultipartUpload', signal, (o) =>
      this.#client.send(new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: key }), o),
    );
    if (!UploadId) throw new StorageError('store_refused', `the object store at ${this.#where} started no multipart upload`);
    try {
      const done: CompletedPart[] = [];
      for await (const part of parts) {
        const PartNumber = done.length + 1;
        const { ETag } = await this.#send('UploadPart', signal, (o) =>
          this.#client.send(new UploadPartCommand({ Bucket: this.#bucket, Key: key, UploadId, PartNumber, Body: part, ContentLength: part.byteLength }), o),
        );
        done.push({ PartNumber, ETag });
      }
      await this.#send('CompleteMultipartUpload', signal, (o) =>
        this.#client.send(new CompleteMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId, MultipartUpload: { Parts: done } }), o),
      );
    } catch (error) {
      // Nothing was published; the parts are dropped (best effort: a lifecycle rule on the bucket catches what a dead store keeps).
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId })).catch(() => undefined);
      throw error;
    }
  }

  /** One request; a cancellation stays what it is, anything else becomes a StorageError. */
  async #send<Output>(operation: string, signal: AbortSignal | undefined, run: (options: { abortSignal?: AbortSignal }) => Promise<Output>): Promise<Output> {
    try {
      return await run(signal ? { abortSignal: signal } : {});
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw this.#failure(operation, error);
    }
  }

  async get(key: string): Promise<BlobRead> {
    keySegments(key, 'key');
    try {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      const body = response.Body;
      if (!(body instanceof Readable)) throw new Error('the S3 client returned no stream body');
      return { size: response.ContentLength ?? 0, body };
    } catch (error) {
      if (isNotFound(error)) throw new BlobNotFoundError();
      throw this.#failure('GetObject', error);
    }
  }

  async has(key: string): Promise<boolean> {
    keySegments(key, 'key');
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw this.#failure('HeadObject', error);
    }
  }

  async delete(key: string): Promise<void> {
    keySegments(key, 'key');
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (error) {
      throw this.#failure('DeleteObject', error);
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    keySegments(prefix, 'prefix');
    const found: StoredObject[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.#client.send(
          new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
        );
        for (const object of page.Contents ?? []) if (object.Key) found.push({ key: object.Key, size: object.Size ?? 0 });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw this.#failure('ListObjectsV2', error);
    }
    return found;
  }

  async deletePrefix(prefix: string): Promise<void> {
    const keys = (await this.list(prefix)).map((object) => object.key);
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      let failed: number;
      try {
        const result = await this.#client.send(
          new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        failed = result.Errors?.length ?? 0;
      } catch (error) {
        throw this.#failure('DeleteObjects', error);
      }
      if (failed > 0) throw new StorageError('store_refused', `the object store at ${this.#where} refused to delete ${failed} of ${batch.length} objects`);
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  /** A clear StorageError naming the store and the operation (never a key: keys name users). */
  #failure(operation: string, error: unknown): StorageError {
    if (error instanceof StorageError) return error;
    if (error instanceof S3ServiceException && error.$metadata.httpStatusCode !== undefined && error.$metadata.httpStatusCode < 500) {
      return new StorageError('store_refused', `the object store at ${this.#where} refused ${operation}: ${error.name}`, { cause: error });
    }
    const reason = errorCode(error) ?? (error instanceof Error ? error.name : 'unknown error');
    return new StorageError('store_unavailable', `the object store at ${this.#where} did not answer ${operation} (${reason})`, { cause: error });
  }
}

/**
 * The body in pieces of exactly `partBytes` (the last one shorter), checked against the declared
 * length: a body longer or shorter than declared throws before its last part is handed on.
 */
async function* inParts(body: AsyncIterable<Uint8Array>, length: number, partBytes: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  let part = Buffer.allocUnsafe(Math.min(partBytes, length));
  let filled = 0;
  let total = 0;
  for await (const piece of body) {
    signal?.throwIfAborted();
    if (total + piece.byteLength > length) throw new RangeError('the object is longer than declared');
    let offset = 0;
    while (offset < piece.byteLength) {
      const n = Math.min(part.byteLength - filled, piece.byteLength - offset);
      part.set(piece.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      total += n;
      if (filled === part.byteLength && total < length) {
        yield part;
        part = Buffer.allocUnsafe(Math.min(partBytes, length - total));
        filled = 0;
      }
    }
  }
  signal?.throwIfAborted();
  if (total !== length) throw new RangeError('the object is shorter than declared');
  yield part;
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException) || error.name === 'NoSuchBucket') return false;
  return error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

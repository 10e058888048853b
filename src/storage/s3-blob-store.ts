import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
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

/**
 * Objects in an S3 bucket through the S3 API, so any S3-compatible store works. Credentials come
 * from the SDK's own chain (environment, shared files, instance roles), never from Vocalis' config.
 * A put is one PutObject whose body streams the ciphertext as it is sealed (S3 publishes an
 * object whole or not at all); a get streams the response body.
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

  async put(key: string, body: AsyncIterable<Uint8Array>, length: number, signal?: AbortSignal): Promise<void> {
    keySegments(key, 'key');
    // A body that fails part-way must abort the request, never end it: an ended request with a
    // short body is stored by some servers as a short object (the test server does).
    const bodyFailed = new AbortController();
    let cause: unknown;
    const guarded = async function* (): AsyncGenerator<Uint8Array> {
      try {
        yield* body;
      } catch (error) {
        cause = error;
        bodyFailed.abort(error);
        throw error;
      }
    };
    const stream = Readable.from(guarded(), { objectMode: false });
    stream.on('error', () => undefined); // reported below through `cause`
    const abortSignal = signal ? AbortSignal.any([signal, bodyFailed.signal]) : bodyFailed.signal;
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: stream, ContentLength: length }), { abortSignal });
    } catch (error) {
      stream.destroy();
      if (cause === undefined && !signal?.aborted) throw this.#failure('PutObject', error);
      // S3 drops an aborted upload, but some S3-compatible servers (the test server among them)
      // keep the partial body as the object. Vocalis never rewrites a key that holds a good object
      // (versions get new numbers and are cleared first; clips and voiceprints get new ids), so
      // removing whatever the aborted upload left loses nothing.
      await this.delete(key).catch(() => undefined);
      // The body's own failure (a length mismatch, a cancelled job) is the real cause.
      throw cause ?? signal?.reason;
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

function isNotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException) || error.name === 'NoSuchBucket') return false;
  return error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { BlobStore } from '../../../src/storage/blob-store.ts';
import { DataPaths } from '../../../src/storage/data-paths.ts';
import { FilesystemBlobStore } from '../../../src/storage/filesystem-blob-store.ts';
import { S3BlobStore } from '../../../src/storage/s3-blob-store.ts';
import { createTestBucket, S3_TEST_CREDENTIALS, S3_TEST_REGION, startTestS3, type TestS3 } from '../../support/s3-server.ts';
import { tempDir } from './storage-fixture.ts';

/** The two places encrypted files can live; tests of the stores above them run against both. */
export const BLOB_STORE_KINDS = ['filesystem', 's3'] as const;
export type BlobStoreKind = (typeof BLOB_STORE_KINDS)[number];

export interface OpenedBlobStore extends AsyncDisposable {
  readonly kind: BlobStoreKind;
  readonly store: BlobStore;
  /** The data dir of a filesystem store (and a scratch folder for an S3 one). */
  readonly dir: string;
  /** Only for S3: the bucket this store uses, fresh for each store. */
  readonly bucket: string | null;
}

/**
 * Starts one real S3 server (s3rver) for the test file, and sets the SDK's credential
 * variables to the server's account, as an operator would. Call at the top of a test file.
 */
export function useTestS3(): { readonly s3: TestS3; open(kind: BlobStoreKind): Promise<OpenedBlobStore> } {
  let server: TestS3 | null = null;
  beforeAll(async () => {
    process.env['AWS_ACCESS_KEY_ID'] = S3_TEST_CREDENTIALS.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = S3_TEST_CREDENTIALS.secretAccessKey;
    server = await startTestS3();
  }, 30_000);
  afterAll(async () => {
    await server?.cleanup();
  });
  const s3 = (): TestS3 => {
    if (!server) throw new Error('the test S3 server is not running');
    return server;
  };
  return {
    get s3() {
      return s3();
    },
    async open(kind) {
      const tmp = await tempDir();
      if (kind === 'filesystem') {
        const store = new FilesystemBlobStore(new DataPaths(tmp.dir));
        return { kind, store, dir: tmp.dir, bucket: null, [Symbol.asyncDispose]: () => tmp[Symbol.asyncDispose]() };
      }
      // A bucket per store keeps tests apart without restarting the server.
      const bucket = `t-${randomBytes(6).toString('hex')}`;
      await createTestBucket(s3().endpoint, bucket);
      const store = new S3BlobStore({ bucket, endpoint: s3().endpoint, region: S3_TEST_REGION });
      return {
        kind,
        store,
        dir: tmp.dir,
        bucket,
        async [Symbol.asyncDispose]() {
          await store.close();
          await tmp[Symbol.asyncDispose]();
        },
      };
    },
  };
}

/** Copies an object's stored bytes to another key, as an attacker with write access to the store could. */
export async function copyObject(store: BlobStore, from: string, to: string): Promise<void> {
  const object = await store.get(from);
  const parts: Uint8Array[] = [];
  for await (const part of object.body) parts.push(part);
  const bytes = Buffer.concat(parts);
  await store.put(to, oneShot(bytes), bytes.byteLength);
}

/** Replaces an object's stored bytes with `edit(bytes)`. */
export async function editObject(store: BlobStore, key: string, edit: (bytes: Buffer) => Buffer): Promise<void> {
  const object = await store.get(key);
  const parts: Uint8Array[] = [];
  for await (const part of object.body) parts.push(part);
  const edited = edit(Buffer.concat(parts));
  await store.put(key, oneShot(edited), edited.byteLength);
}

async function* oneShot(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

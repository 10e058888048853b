import { test } from 'vitest';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { getEncrypted, putEncrypted } from '../../src/storage/encrypted-blobs.ts';
import { encryptedSize } from '../../src/storage/encrypted-file.ts';
import { clipIdentity, clipKey, voiceFileIdentity, voiceFileKey } from '../../src/storage/object-keys.ts';
import { S3BlobStore } from '../../src/storage/s3-blob-store.ts';
import { StorageError } from '../../src/storage/storage-error.ts';
import { eraseUserFiles } from '../../src/storage/user-erasure.ts';
import { VoiceFileStore } from '../../src/storage/voice-file-store.ts';
import { S3_TEST_REGION } from '../support/s3-server.ts';
import { useTestS3 } from './support/blob-stores.ts';
import { keyStore } from './support/storage-fixture.ts';

const stores = useTestS3();
const MiB = 1024 * 1024;

/** `total` bytes of a pattern that differs per MiB, made as it is read: the source never exists whole. */
async function* generated(total: number, hash: ReturnType<typeof createHash>): AsyncGenerator<Uint8Array> {
  const piece = Buffer.alloc(MiB);
  for (let offset = 0; offset < total; offset += MiB) {
    piece.fill(offset / MiB);
    piece.writeUInt32BE(offset >>> 0, 0);
    const part = piece.subarray(0, Math.min(MiB, total - offset));
    hash.update(part);
    yield part;
  }
}

// Live Buffer memory is what a regression that held the whole file would grow; collected garbage is not.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Peak growth of live Buffer memory (arrayBuffers after full GCs) over the baseline while `run` goes, sampled every 50 ms. */
async function peakBufferGrowth(run: () => Promise<void>): Promise<number> {
  collectGarbage();
  const base = process.memoryUsage().arrayBuffers;
  let peak = base;
  const timer = setInterval(() => {
    // Twice: a full GC first finishes the previous one's concurrent sweeping of freed backing stores.
    collectGarbage();
    collectGarbage();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  }, 50);
  try {
    await run();
  } finally {
    clearInterval(timer);
  }
  return peak - base;
}

test('a model-sized file streams into and out of S3 with memory bounded far below its size', async () => {
  const { store: keys } = keyStore();
  const dataKey = keys.getOrCreate('u_a');
  await using opened = await stores.open('s3');
  const size = 192 * MiB;
  const objectKey = voiceFileKey('u_a', 'v_1', 1, 'gpt.onnx');
  const identity = voiceFileIdentity('u_a', 'v_1', 1, 'gpt.onnx');
  const written = createHash('sha256');
  const putGrowth = await peakBufferGrowth(async () => {
    await putEncrypted(opened.store, objectKey, dataKey, identity, { stream: generated(size, written), length: size });
  });
  assert.deepEqual(await opened.store.list('users/u_a/'), [{ key: objectKey, size: encryptedSize(size) }]);
  const read = createHash('sha256');
  let bytes = 0;
  const getGrowth = await peakBufferGrowth(async () => {
    for await (const part of getEncrypted(opened.store, objectKey, dataKey, identity)) {
      read.update(part);
      bytes += part.byteLength;
    }
  });
  assert.equal(bytes, size);
  assert.equal(read.digest('hex'), written.digest('hex'));
  console.log(`# 192 MiB through S3: peak Buffer growth put ${(putGrowth / MiB).toFixed(1)} MiB, get ${(getGrowth / MiB).toFixed(1)} MiB`);
  assert.ok(putGrowth < 32 * MiB, `upload held ${(putGrowth / MiB).toFixed(1)} MiB`);
  assert.ok(getGrowth < 32 * MiB, `download held ${(getGrowth / MiB).toFixed(1)} MiB`);
});

test('a source shorter or longer than declared leaves no object', async () => {
  const { store: keys } = keyStore();
  const dataKey = keys.getOrCreate('u_a');
  await using opened = await stores.open('s3');
  const objectKey = voiceFileKey('u_a', 'v_1', 1, 'gpt.onnx');
  const identity = voiceFileIdentity('u_a', 'v_1', 1, 'gpt.onnx');
  for (const declared of [3 * MiB, MiB + 1]) {
    await assert.rejects(putEncrypted(opened.store, objectKey, dataKey, identity, { stream: generated(2 * MiB, createHash('sha256')), length: declared }));
    assert.deepEqual(await opened.store.list('users/u_a/'), [], `declared ${declared}`);
  }
});

test('the S3 server down: every operation fails with a clear StorageError, and works again when it is back', async () => {
  const { store: keys } = keyStore();
  keys.getOrCreate('u_a');
  await using opened = await stores.open('s3');
  const files = new VoiceFileStore({ store: opened.store, keys, userId: 'u_a', voiceId: 'v_1', version: 1 });
  await files.write('gpt.onnx', randomBytes(1000));
  await stores.s3.stop();
  try {
    const unavailable = (error: unknown) =>
      error instanceof StorageError &&
      error.code === 'store_unavailable' &&
      error.message.includes(`${stores.s3.host}:${stores.s3.port}/${opened.bucket}`) &&
      !error.message.includes('u_a');
    const started = Date.now();
    await assert.rejects(files.read('gpt.onnx'), unavailable, 'read');
    await assert.rejects(files.write('vits.onnx', randomBytes(1000)), unavailable, 'write');
    await assert.rejects(files.has('gpt.onnx'), unavailable, 'has');
    await assert.rejects(files.clear(), unavailable, 'clear');
    await assert.rejects(opened.store.list('users/u_a/'), unavailable, 'list');
    assert.ok(Date.now() - started < 30_000, 'failures come quickly, not after hanging');
  } finally {
    await stores.s3.start();
  }
  assert.equal(await files.has('gpt.onnx'), true);
  assert.equal((await files.read('gpt.onnx')).byteLength, 1000);
});

test('wrong credentials and a missing bucket are refusals, not missing files', async () => {
  await using opened = await stores.open('s3');
  const missingBucket = new S3BlobStore({ bucket: 'no-such-bucket-here', endpoint: stores.s3.endpoint, region: S3_TEST_REGION });
  try {
    await assert.rejects(missingBucket.get('users/u_a/samples/clip_1.enc'), (e: unknown) => e instanceof StorageError && e.code === 'store_refused');
    await assert.rejects(missingBucket.list('users/u_a/'), (e: unknown) => e instanceof StorageError && e.code === 'store_refused');
  } finally {
    await missingBucket.close();
  }
  // The test server refuses an unknown access key (it does not check SigV4 signatures themselves).
  const keyId = process.env['AWS_ACCESS_KEY_ID'];
  process.env['AWS_ACCESS_KEY_ID'] = 'NOT-AN-ACCOUNT';
  const wrongSecret = new S3BlobStore({ bucket: opened.bucket ?? '', endpoint: stores.s3.endpoint, region: S3_TEST_REGION });
  try {
    await assert.rejects(
      wrongSecret.list('users/u_a/'),
      (e: unknown) => e instanceof StorageError && e.code === 'store_refused' && /InvalidAccessKeyId/.test(e.message),
    );
  } finally {
    process.env['AWS_ACCESS_KEY_ID'] = keyId;
    await wrongSecret.close();
  }
});

test('listing and deleting a prefix page past 1000 objects', async () => {
  const { store: keys } = keyStore();
  const dataKey = keys.getOrCreate('u_a');
  await using opened = await stores.open('s3');
  const count = 1005;
  for (let start = 0; start < count; start += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, count - start) }, (_, i) => {
        const id = `clip_${start + i}`;
        return putEncrypted(opened.store, clipKey('u_a', id), dataKey, clipIdentity('u_a', id), randomBytes(10));
      }),
    );
  }
  assert.equal((await opened.store.list('users/u_a/')).length, count);
  const erased = await eraseUserFiles(opened.store, 'u_a');
  assert.equal(erased.files, count);
  assert.deepEqual(await opened.store.list('users/'), []);
});

test('the store itself refuses a body of another length than declared and publishes nothing, in one part or many', async () => {
  await using opened = await stores.open('s3');
  const body = async function* (bytes: number): AsyncGenerator<Uint8Array> {
    for (let sent = 0; sent < bytes; sent += MiB) yield randomBytes(Math.min(MiB, bytes - sent));
  };
  const key = 'users/u_a/voices/v_1/v1/gpt.onnx.enc';
  // One part (up to 8 MiB) and a multipart upload, each too short and too long.
  for (const [sent, declared] of [
    [2 * MiB, 3 * MiB],
    [3 * MiB, 2 * MiB],
    [9 * MiB, 20 * MiB],
    [20 * MiB, 17 * MiB],
  ] as const) {
    await assert.rejects(opened.store.put(key, body(sent), declared), RangeError, `${sent} sent, ${declared} declared`);
    assert.deepEqual(await opened.store.list('users/u_a/'), [], `${sent} sent, ${declared} declared: nothing published`);
  }
  await opened.store.put(key, body(17 * MiB), 17 * MiB);
  assert.deepEqual(await opened.store.list('users/u_a/'), [{ key, size: 17 * MiB }]);
});

import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, readdir, readFile, stat, truncate, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  DEFAULT_CHUNK_SIZE,
  EncryptedFileError,
  HEADER_BYTES,
  decryptStream,
  encryptedSize,
  encryptToStream,
  readEncryptedFile,
  readEncryptedFileAll,
  writeEncryptedFile,
  type EncryptedFileErrorCode,
} from '../../src/storage/encrypted-file.ts';
import { inPieces, keyStore, patternBytes, tempDir } from './support/storage-fixture.ts';

const C = DEFAULT_CHUNK_SIZE;
const RECORD = C + 16;
const ID = 'user/u_a/sample/clip_1';

function isCode(code: EncryptedFileErrorCode) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof EncryptedFileError, `expected EncryptedFileError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

async function setup() {
  const { store } = keyStore();
  const key = store.getOrCreate('u_a');
  const tmp = await tempDir(); // last, so a failure above leaves no folder behind
  return { tmp, store, key, file: join(tmp.dir, 'clip_1.enc') };
}

for (const size of [0, 1, C - 1, C, C + 1, 3 * C, 3 * 1024 * 1024 + 12345]) {
  test(`round trip of ${size} bytes, whole and streamed in odd pieces`, async () => {
    const { tmp, key, file } = await setup();
    await using _ = tmp;
    const data = randomBytes(size);
    const written = await writeEncryptedFile(file, key, ID, data);
    assert.equal(written.plaintextBytes, size);
    assert.equal(written.storedBytes, encryptedSize(size));
    assert.equal((await stat(file)).size, encryptedSize(size));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await readEncryptedFileAll(file, key, ID), data);

    await writeEncryptedFile(file, key, ID, inPieces(data, [1, 7000, 65536, 100_003, 3]));
    const parts: Uint8Array[] = [];
    for await (const part of readEncryptedFile(file, key, ID)) parts.push(part);
    assert.ok(
      parts.every((p) => p.byteLength <= C),
      'the reader yields chunk by chunk',
    );
    assert.equal(parts.length, Math.max(1, Math.ceil(size / C)));
    assert.deepEqual(Buffer.concat(parts), data);
    assert.deepEqual(await readdir(tmp.dir), ['clip_1.enc'], 'no temp files left');
  });
}

test('the file on disk holds no run of the plaintext, and the same data encrypts differently each time', async () => {
  const { tmp, key, file } = await setup();
  await using _ = tmp;
  const marker = Buffer.from('RECOGNISABLE-PLAINTEXT-MARKER|');
  const data = Buffer.concat([Buffer.alloc(C * 2, marker), patternBytes(C * 3)]);
  await writeEncryptedFile(file, key, ID, data);
  const disk = await readFile(file);
  assert.equal(disk.indexOf(marker.subarray(0, 12)), -1);
  for (let offset = 0; offset + 16 <= data.byteLength; offset += 4099) {
    assert.equal(disk.indexOf(data.subarray(offset, offset + 16)), -1, `plaintext run at ${offset} found on disk`);
  }
  const other = join(tmp.dir, 'again.enc');
  await writeEncryptedFile(other, key, ID, data);
  assert.notDeepEqual((await readFile(other)).subarray(HEADER_BYTES, HEADER_BYTES + 64), disk.subarray(HEADER_BYTES, HEADER_BYTES + 64));
});

test('a flipped byte anywhere is detected', async () => {
  const { tmp, key, file } = await setup();
  await using _ = tmp;
  const data = randomBytes(3 * C + 500);
  await writeEncryptedFile(file, key, ID, data);
  const original = await readFile(file);
  const positions: Array<[number, EncryptedFileErrorCode]> = [
    [HEADER_BYTES + 10, 'tampered'], // first chunk body
    [HEADER_BYTES + RECORD + C + 3, 'tampered'], // second chunk's tag
    [original.byteLength - 1, 'tampered'], // last tag
    [20, 'tampered'], // salt (header CRC)
    [50, 'tampered'], // commitment (header CRC)
  ];
  for (const [at, code] of positions) {
    const damaged = Buffer.from(original);
    damaged[at] = (damaged[at] ?? 0) ^ 0x01;
    await writeFile(file, damaged);
    await assert.rejects(readEncryptedFileAll(file, key, ID), isCode(code), `byte ${at}`);
  }
});

test('swapping two chunks, appending bytes or re-stamping the header CRC is detected', async () => {
  const { tmp, key, file } = await setup();
  await using _ = tmp;
  await writeEncryptedFile(file, key, ID, randomBytes(3 * C));
  const original = await readFile(file);
  const swapped = Buffer.concat([
    original.subarray(0, HEADER_BYTES),
    original.subarray(HEADER_BYTES + RECORD, HEADER_BYTES + 2 * RECORD),
    original.subarray(HEADER_BYTES, HEADER_BYTES + RECORD),
    original.subarray(HEADER_BYTES + 2 * RECORD),
  ]);
  await writeFile(file, swapped);
  await assert.rejects(readEncryptedFileAll(file, key, ID), isCode('tampered'));

  await writeFile(file, original);
  await appendFile(file, Buffer.from([1, 2, 3]));
  await assert.rejects(readEncryptedFileAll(file, key, ID), isCode('tampered'));

  // Change the chunk size field and fix the CRC: the AAD still catches it.
  const restamped = Buffer.from(original);
  restamped.writeUInt32BE(C / 2, 12);
  restamped.writeUInt32BE(crc32(restamped.subarray(0, 72)), 72);
  await writeFile(file, restamped);
  await assert.rejects(readEncryptedFileAll(file, key, ID), (error: unknown) => error instanceof EncryptedFileError && error.code !== 'wrong_key');
});

test('truncation is reported: inside the header, at a chunk boundary, mid-chunk', async () => {
  const { tmp, key, file } = await setup();
  await using _ = tmp;
  const data = randomBytes(3 * C + 100);
  await writeEncryptedFile(file, key, ID, data);
  const original = await readFile(file);
  for (const cut of [
    HEADER_BYTES - 10,
    HEADER_BYTES,
    HEADER_BYTES + RECORD,
    HEADER_BYTES + 2 * RECORD,
    HEADER_BYTES + RECORD + 1000,
    original.byteLength - 1,
  ]) {
    await writeFile(file, original);
    await truncate(file, cut);
    await assert.rejects(readEncryptedFileAll(file, key, ID), isCode('truncated'), `cut at ${cut}`);
  }
});

test('cut at a chunk boundary with the header length forged to match is still truncation', async () => {
  const { tmp, key, file } = await setup();
  await using _ = tmp;
  await writeEncryptedFile(file, key, ID, randomBytes(3 * C + 100));
  const original = await readFile(file);
  const forged = Buffer.from(original.subarray(0, HEADER_BYTES + 2 * RECORD));
  forged.writeBigUInt64BE(BigInt(2 * C), 32);
  forged.writeUInt32BE(crc32(forged.subarray(0, 72)), 72);
  await writeFile(file, forged);
  const seen: Uint8Array[] = [];
  await assert.rejects(async () => {
    for await (const part of readEncryptedFile(file, key, ID)) seen.push(part);
  }, isCode('truncated'));
  assert.equal(seen.length, 1, 'chunks before the cut were genuine; the one posing as last was refused');
});

test('a file under another identity (moved or swapped) does not decrypt', async () => {
  const { tmp, key, file } = await setup();
  await using _ = tmp;
  await writeEncryptedFile(file, key, ID, randomBytes(1000));
  const moved = join(tmp.dir, 'clip_2.enc');
  await copyFile(file, moved);
  await assert.rejects(readEncryptedFileAll(moved, key, 'user/u_a/sample/clip_2'), isCode('tampered'));
  await assert.rejects(readEncryptedFileAll(file, key, 'user/u_b/sample/clip_1'), isCode('tampered'));
});

test("another user's key is reported as wrong_key", async () => {
  const { tmp, key, file, store } = await setup();
  await using _ = tmp;
  await writeEncryptedFile(file, key, ID, randomBytes(10));
  await assert.rejects(readEncryptedFileAll(file, store.getOrCreate('u_b'), ID), isCode('wrong_key'));
});

test('crypto-shredding: once the data key is destroyed the file cannot be decrypted', async () => {
  const { tmp, key, file, store } = await setup();
  await using _ = tmp;
  const data = randomBytes(2 * C);
  await writeEncryptedFile(file, key, ID, data);
  const backup = await readFile(file); // a copy that escapes deletion
  assert.equal(store.destroy('u_a'), true);
  assert.equal(store.get('u_a'), null);
  const fresh = store.getOrCreate('u_a'); // a new key for the same user must not open old files
  await writeFile(file, backup);
  await assert.rejects(readEncryptedFileAll(file, fresh, ID), isCode('wrong_key'));
});

test('plain and empty files are not_encrypted', async () => {
  const { tmp, key, file } = await setup();
  await using _ = tmp;
  await writeFile(file, Buffer.from('RIFF....WAVEfmt plain audio that was never encrypted'));
  await assert.rejects(readEncryptedFileAll(file, key, ID), isCode('not_encrypted'));
  await writeFile(file, Buffer.alloc(0));
  await assert.rejects(readEncryptedFileAll(file, key, ID), isCode('not_encrypted'));
  const future = Buffer.alloc(HEADER_BYTES);
  future.write('VOCALENC', 0, 'latin1');
  future.writeUInt8(9, 8);
  await writeFile(file, future);
  await assert.rejects(readEncryptedFileAll(file, key, ID), (e: unknown) => e instanceof EncryptedFileError && /version 9/.test(e.message));
});

test('a source that fails or an abort leaves nothing behind and keeps the old file', async () => {
  const { tmp, key, file } = await setup();
  await using _ = tmp;
  const old = randomBytes(100);
  await writeEncryptedFile(file, key, ID, old);
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield randomBytes(3 * C);
    throw new Error('microphone unplugged');
  }
  await assert.rejects(writeEncryptedFile(file, key, ID, failing()), /microphone unplugged/);
  assert.deepEqual(await readEncryptedFileAll(file, key, ID), old, 'the published file is untouched');
  assert.deepEqual(await readdir(tmp.dir), ['clip_1.enc']);

  const controller = new AbortController();
  async function* slow(): AsyncGenerator<Uint8Array> {
    yield randomBytes(2 * C);
    controller.abort(new Error('job cancelled'));
    yield randomBytes(C);
  }
  const fresh = join(tmp.dir, 'fresh.enc');
  await assert.rejects(writeEncryptedFile(fresh, key, ID, slow(), { signal: controller.signal }), /job cancelled/);
  assert.deepEqual(await readdir(tmp.dir), ['clip_1.enc']);
});

test('small chunk sizes round trip and bad chunk sizes are refused', async () => {
  const { tmp, key, file } = await setup();
  await using _ = tmp;
  const data = patternBytes(10_000);
  await writeEncryptedFile(file, key, ID, data, { chunkSize: 100 });
  assert.equal((await stat(file)).size, encryptedSize(10_000, 100));
  assert.deepEqual(await readEncryptedFileAll(file, key, ID), data);
  await assert.rejects(writeEncryptedFile(file, key, ID, data, { chunkSize: 3 }), RangeError);
});

for (const size of [0, C, 2 * C + 7]) {
  test(`the stream-sealed and the file-written forms are one format (${size} bytes): each reader opens the other's output`, async () => {
    const { tmp, key, file } = await setup();
    await using _ = tmp;
    const data = patternBytes(size, 7);
    const sealed: Buffer[] = [];
    for await (const part of encryptToStream(key, ID, inPieces(data, [5, C + 3, 1000]), size)) sealed.push(part);
    const streamed = Buffer.concat(sealed);
    assert.equal(streamed.byteLength, encryptedSize(size));
    await writeFile(file, streamed);
    assert.deepEqual(await readEncryptedFileAll(file, key, ID), data, 'the file reader opens a stream-sealed file');

    const other = join(tmp.dir, 'written.enc');
    await writeEncryptedFile(other, key, ID, data);
    const onDisk = await readFile(other);
    // Same layout: magic, version, chunk size and length fields agree; only the random salt (and so the bytes after it) differ.
    assert.deepEqual(onDisk.subarray(0, 16), streamed.subarray(0, 16));
    assert.deepEqual(onDisk.subarray(32, 40), streamed.subarray(32, 40));
    const opened: Uint8Array[] = [];
    for await (const part of decryptStream(inPieces(onDisk, [3, 70_000, 17]), onDisk.byteLength, key, ID)) opened.push(part);
    assert.deepEqual(Buffer.concat(opened), data, 'the stream reader opens a written file, in any piece sizes');
  });
}

test('the stream reader refuses a stream that runs on past its last chunk or ends early, whatever size it was told', async () => {
  const { tmp, key } = await setup();
  await using _ = tmp;
  const data = randomBytes(2 * C + 5);
  const sealed: Buffer[] = [];
  for await (const part of encryptToStream(key, ID, data, data.byteLength)) sealed.push(part);
  const bytes = Buffer.concat(sealed);
  const read = async (body: Buffer, size: number) => {
    for await (const _part of decryptStream(inPieces(body, [4096]), size, key, ID)) {
      // drain
    }
  };
  await assert.rejects(read(Buffer.concat([bytes, Buffer.from('x')]), bytes.byteLength), isCode('tampered'));
  await assert.rejects(read(bytes.subarray(0, bytes.byteLength - 10), bytes.byteLength), isCode('truncated'));
  await assert.rejects(read(bytes, bytes.byteLength + 1), isCode('tampered'));
  await read(bytes, bytes.byteLength);
});

test('a sealing stream whose source holds another length than declared fails before its last chunk', async () => {
  const key = keyStore().store.getOrCreate('u_a');
  for (const declared of [C - 1, C + 1]) {
    const out: Buffer[] = [];
    await assert.rejects(
      (async () => {
        for await (const part of encryptToStream(key, ID, randomBytes(C), declared)) out.push(part);
      })(),
      RangeError,
    );
    assert.ok(Buffer.concat(out).byteLength < encryptedSize(declared), `declared ${declared}: no complete file came out`);
  }
});

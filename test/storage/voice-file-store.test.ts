import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobNotFoundError } from '../../src/storage/blob-store.ts';
import { UnsafePathError } from '../../src/storage/data-paths.ts';
import { EncryptedFileError } from '../../src/storage/encrypted-file.ts';
import { voiceFileKey } from '../../src/storage/object-keys.ts';
import { DataKeyMissingError, VoiceFileStore } from '../../src/storage/voice-file-store.ts';
import { BLOB_STORE_KINDS, copyObject, editObject, useTestS3 } from './support/blob-stores.ts';
import { keyStore, patternBytes } from './support/storage-fixture.ts';

const stores = useTestS3();

describe.each(BLOB_STORE_KINDS)('voice files in the %s store', (kind) => {
  async function setup() {
    const { store: keys } = keyStore();
    keys.getOrCreate('u_a');
    keys.getOrCreate('u_b');
    const opened = await stores.open(kind); // last, so a failure above leaves nothing behind
    const files = (userId: string, voiceId: string, version: number) => new VoiceFileStore({ store: opened.store, keys, userId, voiceId, version });
    return { opened, keys, files };
  }

  test('write/read/stream/has round trip, encrypted where it is stored', async () => {
    const { opened, files } = await setup();
    await using _ = opened;
    const v1 = files('u_a', 'v_1', 1);
    const model = patternBytes(300_000);
    assert.equal(await v1.has('gpt.onnx'), false);
    await v1.write('gpt.onnx', model);
    await v1.write('empty.bin', new Uint8Array(0));
    assert.equal(await v1.has('gpt.onnx'), true);
    assert.deepEqual(Buffer.from(await v1.read('gpt.onnx')), model);
    assert.equal((await v1.read('empty.bin')).byteLength, 0);
    const parts: Uint8Array[] = [];
    for await (const part of v1.stream('gpt.onnx')) parts.push(part);
    assert.deepEqual(Buffer.concat(parts), model);
    const stored = await opened.store.get(voiceFileKey('u_a', 'v_1', 1, 'gpt.onnx'));
    const raw: Uint8Array[] = [];
    for await (const part of stored.body) raw.push(part);
    assert.equal(Buffer.concat(raw).indexOf(model.subarray(1000, 1032)), -1, 'no plaintext in the stored object');
    if (kind === 'filesystem') {
      // The data directory's layout is unchanged: object K is <data>/K.
      const disk = await readFile(join(opened.dir, 'users/u_a/voices/v_1/v1/gpt.onnx.enc'));
      assert.deepEqual(disk, Buffer.concat(raw));
    }
    await assert.rejects(v1.read('missing.bin'), BlobNotFoundError);
  });

  test('a file copied to another version, voice or user does not decrypt there', async () => {
    const { opened, files } = await setup();
    await using _ = opened;
    await files('u_a', 'v_1', 1).write('gpt.onnx', randomBytes(5000));
    const source = voiceFileKey('u_a', 'v_1', 1, 'gpt.onnx');
    const targets: Array<[string, string, number]> = [
      ['u_a', 'v_1', 2],
      ['u_a', 'v_2', 1],
      ['u_b', 'v_1', 1],
    ];
    for (const [user, voice, version] of targets) {
      await copyObject(opened.store, source, voiceFileKey(user, voice, version, 'gpt.onnx'));
      await assert.rejects(files(user, voice, version).read('gpt.onnx'), EncryptedFileError, `${user}/${voice}/${version}`);
    }
    // Renaming a file inside one version is caught as well.
    await copyObject(opened.store, source, voiceFileKey('u_a', 'v_1', 1, 'vits.onnx'));
    await assert.rejects(files('u_a', 'v_1', 1).read('vits.onnx'), EncryptedFileError);
  });

  test('a damaged stored file fails authentication; a cut one reads as truncated', async () => {
    const { opened, files } = await setup();
    await using _ = opened;
    const v1 = files('u_a', 'v_1', 1);
    await v1.write('gpt.onnx', randomBytes(200_000));
    const key = voiceFileKey('u_a', 'v_1', 1, 'gpt.onnx');
    await editObject(opened.store, key, (bytes) => {
      bytes[150_000] = (bytes[150_000] ?? 0) ^ 0x01;
      return bytes;
    });
    await assert.rejects(v1.read('gpt.onnx'), (error: unknown) => error instanceof EncryptedFileError && error.code === 'tampered');
    await v1.write('vits.onnx', randomBytes(200_000));
    await editObject(opened.store, voiceFileKey('u_a', 'v_1', 1, 'vits.onnx'), (bytes) => bytes.subarray(0, bytes.byteLength - 100));
    await assert.rejects(v1.read('vits.onnx'), (error: unknown) => error instanceof EncryptedFileError && error.code === 'truncated');
  });

  test('unsafe names and ids are refused; clear empties the version and only it', async () => {
    const { opened, files } = await setup();
    await using _ = opened;
    assert.throws(() => files('../u', 'v_1', 1), UnsafePathError);
    assert.throws(() => files('u_a', 'v_1', -1), UnsafePathError);
    const v1 = files('u_a', 'v_1', 1);
    await assert.rejects(v1.write('../../escape', Buffer.from('x')), UnsafePathError);
    await assert.rejects(v1.has('a/b'), UnsafePathError);
    await v1.write('a.bin', Buffer.from('x'));
    await v1.write('b.bin', Buffer.from('y'));
    const v2 = files('u_a', 'v_1', 2);
    await v2.write('a.bin', Buffer.from('kept'));
    await v1.clear();
    assert.equal(await v1.has('a.bin'), false);
    assert.deepEqual(await opened.store.list(v1.prefix), []);
    assert.equal(Buffer.from(await v2.read('a.bin')).toString(), 'kept');
    await v1.clear();
  });

  test('after the data key is destroyed the store can neither read nor write, and never makes a new key', async () => {
    const { opened, keys, files } = await setup();
    await using _ = opened;
    const v1 = files('u_a', 'v_1', 1);
    await v1.write('gpt.onnx', randomBytes(100));
    keys.destroy('u_a');
    await assert.rejects(v1.read('gpt.onnx'), DataKeyMissingError);
    await assert.rejects(v1.write('vits.onnx', randomBytes(100)), DataKeyMissingError);
    assert.equal(await v1.has('vits.onnx'), false);
    assert.equal(keys.get('u_a'), null);
  });
});

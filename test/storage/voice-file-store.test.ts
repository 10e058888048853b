import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, readFile } from 'node:fs/promises';
import { DataPaths, UnsafePathError } from '../../src/storage/data-paths.ts';
import { EncryptedFileError } from '../../src/storage/encrypted-file.ts';
import { DataKeyMissingError, VoiceFileStore } from '../../src/storage/voice-file-store.ts';
import { keyStore, patternBytes, tempDir } from './support/storage-fixture.ts';

async function setup() {
  const { store } = keyStore();
  store.getOrCreate('u_a');
  store.getOrCreate('u_b');
  const tmp = await tempDir(); // last, so a failure above leaves no folder behind
  const paths = new DataPaths(tmp.dir);
  const files = (userId: string, voiceId: string, version: number) => new VoiceFileStore({ paths, keys: store, userId, voiceId, version });
  return { tmp, store, paths, files };
}

test('write/read/has round trip, encrypted on disk', async () => {
  const { tmp, paths, files } = await setup();
  await using _ = tmp;
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
  const disk = await readFile(paths.voiceFile('u_a', 'v_1', 1, 'gpt.onnx'));
  assert.equal(disk.indexOf(model.subarray(1000, 1032)), -1);
  await assert.rejects(v1.read('missing.bin'), { code: 'ENOENT' });
});

test('a file copied to another version, voice or user does not decrypt there', async () => {
  const { tmp, paths, files } = await setup();
  await using _ = tmp;
  await files('u_a', 'v_1', 1).write('gpt.onnx', randomBytes(5000));
  const targets: Array<[string, string, number]> = [
    ['u_a', 'v_1', 2],
    ['u_a', 'v_2', 1],
    ['u_b', 'v_1', 1],
  ];
  for (const [user, voice, version] of targets) {
    const store = files(user, voice, version);
    await paths.ensureDir(store.dir);
    await copyFile(paths.voiceFile('u_a', 'v_1', 1, 'gpt.onnx'), paths.voiceFile(user, voice, version, 'gpt.onnx'));
    await assert.rejects(store.read('gpt.onnx'), EncryptedFileError, `${user}/${voice}/${version}`);
  }
  // Renaming a file inside one version is caught as well.
  await copyFile(paths.voiceFile('u_a', 'v_1', 1, 'gpt.onnx'), paths.voiceFile('u_a', 'v_1', 1, 'vits.onnx'));
  await assert.rejects(files('u_a', 'v_1', 1).read('vits.onnx'), EncryptedFileError);
});

test('unsafe names and ids are refused; clear empties the version', async () => {
  const { tmp, files } = await setup();
  await using _ = tmp;
  assert.throws(() => files('../u', 'v_1', 1), UnsafePathError);
  assert.throws(() => files('u_a', 'v_1', -1), UnsafePathError);
  const v1 = files('u_a', 'v_1', 1);
  await assert.rejects(v1.write('../../escape', Buffer.from('x')), UnsafePathError);
  await assert.rejects(v1.has('a/b'), UnsafePathError);
  await v1.write('a.bin', Buffer.from('x'));
  await v1.clear();
  assert.equal(await v1.has('a.bin'), false);
  await v1.clear();
});

test('after the data key is destroyed the store can neither read nor write, and never makes a new key', async () => {
  const { tmp, store, files } = await setup();
  await using _ = tmp;
  const v1 = files('u_a', 'v_1', 1);
  await v1.write('gpt.onnx', randomBytes(100));
  store.destroy('u_a');
  await assert.rejects(v1.read('gpt.onnx'), DataKeyMissingError);
  await assert.rejects(v1.write('vits.onnx', randomBytes(100)), DataKeyMissingError);
  assert.equal(store.get('u_a'), null);
});

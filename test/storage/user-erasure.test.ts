import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { DataPaths, UnsafePathError } from '../../src/storage/data-paths.ts';
import { encryptedSize, writeEncryptedFile } from '../../src/storage/encrypted-file.ts';
import { eraseUserFiles } from '../../src/storage/user-erasure.ts';
import { VoiceFileStore } from '../../src/storage/voice-file-store.ts';
import { keyStore, tempDir } from './support/storage-fixture.ts';

test('erasure removes the whole user folder, reports files and bytes, and spares other users', async () => {
  await using tmp = await tempDir();
  const { store } = keyStore();
  const paths = new DataPaths(tmp.dir);
  const key = store.getOrCreate('u_a');
  store.getOrCreate('u_b');
  await paths.ensureDir(paths.samplesDir('u_a'));
  await writeEncryptedFile(paths.clipFile('u_a', 'clip_1'), key, paths.clipIdentity('u_a', 'clip_1'), randomBytes(70_000));
  await writeEncryptedFile(paths.clipFile('u_a', 'clip_2'), key, paths.clipIdentity('u_a', 'clip_2'), randomBytes(10));
  await new VoiceFileStore({ paths, keys: store, userId: 'u_a', voiceId: 'v_1', version: 1 }).write('gpt.onnx', randomBytes(1000));
  const other = new VoiceFileStore({ paths, keys: store, userId: 'u_b', voiceId: 'v_9', version: 1 });
  await other.write('gpt.onnx', Buffer.from('keep me'));

  store.destroy('u_a'); // the caller shreds the key first
  const erased = await eraseUserFiles(paths, 'u_a');
  assert.deepEqual(erased, { files: 3, bytes: encryptedSize(70_000) + encryptedSize(10) + encryptedSize(1000) });
  await assert.rejects(stat(paths.userDir('u_a')), { code: 'ENOENT' });
  assert.deepEqual(await readdir(paths.usersRoot), ['u_b']);
  assert.equal(Buffer.from(await other.read('gpt.onnx')).toString(), 'keep me');
  assert.deepEqual(await eraseUserFiles(paths, 'u_a'), { files: 0, bytes: 0 }, 'idempotent');
  assert.deepEqual(await eraseUserFiles(paths, 'u_never'), { files: 0, bytes: 0 });
  await assert.rejects(eraseUserFiles(paths, '..'), UnsafePathError);
});

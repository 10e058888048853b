import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readEncryptedFileAll, StorageFullError, writeEncryptedFile, DEFAULT_CHUNK_SIZE } from '../../src/storage/encrypted-file.ts';
import { DataPaths } from '../../src/storage/data-paths.ts';
import { FilesystemBlobStore } from '../../src/storage/filesystem-blob-store.ts';
import { VoiceFileStore } from '../../src/storage/voice-file-store.ts';
import { failingSink } from './support/failing-sink.ts';
import { keyStore, tempDir } from './support/storage-fixture.ts';

const ID = 'user/u_a/voice/v_1/v1/gpt.onnx';

for (const budget of [0, 50, 3 * DEFAULT_CHUNK_SIZE + 123]) {
  test(`ENOSPC after ${budget} bytes: StorageFullError, nothing at the final path, temp removed`, async () => {
    await using tmp = await tempDir();
    const { store } = keyStore();
    const key = store.getOrCreate('u_a');
    const file = join(tmp.dir, 'gpt.onnx.enc');
    const sink = failingSink(budget);
    await assert.rejects(writeEncryptedFile(file, key, ID, randomBytes(8 * DEFAULT_CHUNK_SIZE), { sink }), (error: unknown) => {
      assert.ok(error instanceof StorageFullError);
      assert.equal(error.code, 'storage_full');
      assert.equal((error.cause as { code?: string }).code, 'ENOSPC');
      return true;
    });
    assert.equal(sink.created.length, 1);
    assert.deepEqual(await readdir(tmp.dir), [], 'neither the final file nor the temp file exists');
  });
}

test('EDQUOT is a full disk too; other write errors pass through unchanged', async () => {
  await using tmp = await tempDir();
  const key = keyStore().store.getOrCreate('u_a');
  const file = join(tmp.dir, 'x.enc');
  await assert.rejects(writeEncryptedFile(file, key, ID, randomBytes(1000), { sink: failingSink(10, 'EDQUOT') }), StorageFullError);
  await assert.rejects(
    writeEncryptedFile(file, key, ID, randomBytes(1000), { sink: failingSink(10, 'EIO') }),
    (e: unknown) => !(e instanceof StorageFullError) && (e as { code?: string }).code === 'EIO',
  );
  assert.deepEqual(await readdir(tmp.dir), []);
});

test('a voice version that hits a full disk never shows a half-written file', async () => {
  await using tmp = await tempDir();
  const { store } = keyStore();
  store.getOrCreate('u_a');
  const paths = new DataPaths(tmp.dir);
  const good = new VoiceFileStore({ store: new FilesystemBlobStore(paths), keys: store, userId: 'u_a', voiceId: 'v_1', version: 1 });
  await good.write('config.json', Buffer.from('{"sr":32000}'));
  const fullDisk = new FilesystemBlobStore(paths, { sink: failingSink(DEFAULT_CHUNK_SIZE) });
  const full = new VoiceFileStore({ store: fullDisk, keys: store, userId: 'u_a', voiceId: 'v_1', version: 1 });
  await assert.rejects(full.write('gpt.onnx', randomBytes(4 * DEFAULT_CHUNK_SIZE)), StorageFullError);
  assert.equal(await good.has('gpt.onnx'), false);
  assert.deepEqual(await readdir(paths.voiceVersionDir('u_a', 'v_1', 1)), ['config.json.enc']);
  assert.equal(Buffer.from(await good.read('config.json')).toString(), '{"sr":32000}');
});

/** A real full filesystem: a 1 MiB tmpfs. Needs root (CAP_SYS_ADMIN): fails as root if it cannot mount, skipped with the reason otherwise. */
test('real ENOSPC on a 1 MiB tmpfs', async (t) => {
  await using tmp = await tempDir();
  const mountPoint = join(tmp.dir, 'small');
  await mkdir(mountPoint);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mountPoint], { encoding: 'utf8' });
  if (mounted.error || mounted.status !== 0) {
    const reason = `cannot mount a tmpfs here (${mounted.error?.message ?? (mounted.stderr.trim() || `exit ${mounted.status}`)})`;
    // As root (CI) the mount must work: a skipped test there would hide a broken promise.
    if (process.getuid?.() === 0) assert.fail(`running as root, yet ${reason}; the real ENOSPC test needs a tmpfs mount (mount(8), CAP_SYS_ADMIN)`);
    console.log(`# skipped real ENOSPC test: ${reason}`);
    t.skip(reason);
    return;
  }
  try {
    const { store } = keyStore();
    const key = store.getOrCreate('u_a');
    const small = join(mountPoint, 'small.enc');
    const smallData = randomBytes(200 * 1024);
    await writeEncryptedFile(small, key, ID, smallData);
    const big = join(mountPoint, 'big.enc');
    await assert.rejects(writeEncryptedFile(big, key, ID, randomBytes(2 * 1024 * 1024)), StorageFullError);
    assert.deepEqual(await readdir(mountPoint), ['small.enc'], 'no partial file and no temp file');
    assert.deepEqual(await readEncryptedFileAll(small, key, ID), smallData, 'the earlier file is intact');
    // The failed write's blocks were released with its temp file.
    await writeFile(join(mountPoint, 'probe'), Buffer.alloc(512 * 1024));
  } finally {
    const unmounted = spawnSync('umount', [mountPoint], { encoding: 'utf8' });
    assert.equal(unmounted.status, 0, unmounted.stderr);
  }
});

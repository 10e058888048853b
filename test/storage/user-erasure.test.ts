import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import { ClipAudioFiles } from '../../src/storage/clip-audio-files.ts';
import { UnsafePathError } from '../../src/storage/data-paths.ts';
import { encryptedSize } from '../../src/storage/encrypted-file.ts';
import { EnrolmentFiles } from '../../src/storage/enrolment-files.ts';
import { eraseUserFiles, ErasureIncompleteError } from '../../src/storage/user-erasure.ts';
import { VoiceFileStore } from '../../src/storage/voice-file-store.ts';
import { BLOB_STORE_KINDS, useTestS3 } from './support/blob-stores.ts';
import { keyStore } from './support/storage-fixture.ts';

const stores = useTestS3();

describe.each(BLOB_STORE_KINDS)('erasing a user from the %s store', (kind) => {
  test('removes every object of the user (samples, voiceprint, every version), reports them, proves it by listing, spares others', async () => {
    const { store: keys } = keyStore();
    keys.getOrCreate('u_a');
    keys.getOrCreate('u_b');
    await using opened = await stores.open(kind);
    const { store } = opened;
    const clips = new ClipAudioFiles(store, keys);
    await clips.write('u_a', 'clip_1', { samples: new Float32Array(35_000), sampleRate: 16_000 });
    await new EnrolmentFiles(store, keys).write('u_a', 'c_1', randomBytes(10));
    await new VoiceFileStore({ store, keys, userId: 'u_a', voiceId: 'v_1', version: 1 }).write('gpt.onnx', randomBytes(1000));
    await new VoiceFileStore({ store, keys, userId: 'u_a', voiceId: 'v_1', version: 2 }).write('gpt.onnx', randomBytes(1000));
    const other = new VoiceFileStore({ store, keys, userId: 'u_b', voiceId: 'v_9', version: 1 });
    await other.write('gpt.onnx', Buffer.from('keep me'));

    keys.destroy('u_a'); // the caller shreds the key first
    const erased = await eraseUserFiles(store, 'u_a');
    const wav = 44 + 35_000 * 2;
    assert.deepEqual(erased, {
      files: 4,
      bytes: encryptedSize(wav) + encryptedSize(10) + 2 * encryptedSize(1000),
      proof: { store: kind, prefix: 'users/u_a/', listedAfter: 0 },
    });
    // Look past the store's own listing: every object or file that exists, whoever's.
    assert.deepEqual(await everything(opened), ['users/u_b/voices/v_9/v1/gpt.onnx.enc']);
    if (kind === 'filesystem') await assert.rejects(stat(join(opened.dir, 'users', 'u_a')), { code: 'ENOENT' });
    assert.equal(Buffer.from(await other.read('gpt.onnx')).toString(), 'keep me');
    assert.deepEqual((await eraseUserFiles(store, 'u_a')).files, 0, 'idempotent');
    assert.deepEqual(await eraseUserFiles(store, 'u_never'), { files: 0, bytes: 0, proof: { store: kind, prefix: 'users/u_never/', listedAfter: 0 } });
    await assert.rejects(eraseUserFiles(store, '..'), UnsafePathError);
  });

  test('objects still listed after deleting are a failure, never a receipt', async () => {
    const { store: keys } = keyStore();
    keys.getOrCreate('u_a');
    await using opened = await stores.open(kind);
    await new VoiceFileStore({ store: opened.store, keys, userId: 'u_a', voiceId: 'v_1', version: 1 }).write('gpt.onnx', randomBytes(100));
    // A store whose deletes do nothing, as one that acknowledges and loses them would.
    const real = opened.store;
    const forgetful: BlobStore = {
      kind: real.kind,
      put: (key, body, length) => real.put(key, body, length),
      get: (key) => real.get(key),
      has: (key) => real.has(key),
      delete: async () => {},
      list: (prefix) => real.list(prefix),
      deletePrefix: async () => {},
      close: async () => {},
    };
    await assert.rejects(eraseUserFiles(forgetful, 'u_a'), (error: unknown) => error instanceof ErasureIncompleteError && error.remaining === 1);
  });
});

/** Every stored object, found without the store's list(): the bucket's whole listing or a walk of the data dir. */
async function everything(opened: { kind: string; dir: string; bucket: string | null }): Promise<string[]> {
  if (opened.bucket) {
    const listed = await stores.s3.client().send(new ListObjectsV2Command({ Bucket: opened.bucket }));
    return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
  }
  const entries = await readdir(opened.dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(opened.dir.length + 1))
    .sort();
}

import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { BlobNotFoundError } from '../../src/storage/blob-store.ts';
import { ClipAudioFiles } from '../../src/storage/clip-audio-files.ts';
import { EncryptedFileError } from '../../src/storage/encrypted-file.ts';
import { EnrolmentFiles } from '../../src/storage/enrolment-files.ts';
import { clipKey, enrolmentKey } from '../../src/storage/object-keys.ts';
import { DataKeyMissingError } from '../../src/storage/voice-file-store.ts';
import { BLOB_STORE_KINDS, copyObject, useTestS3 } from './support/blob-stores.ts';
import { keyStore } from './support/storage-fixture.ts';

const stores = useTestS3();

function tone(seconds: number, sampleRate = 16_000): Float32Array {
  const samples = new Float32Array(seconds * sampleRate);
  for (let i = 0; i < samples.length; i++) samples[i] = 0.5 * Math.sin((2 * Math.PI * 220 * i) / sampleRate);
  return samples;
}

describe.each(BLOB_STORE_KINDS)('clips and voiceprints in the %s store', (kind) => {
  test('a clip round-trips as 16-bit audio, is bound to its user and id, and is deleted', async () => {
    const { store: keys } = keyStore();
    keys.getOrCreate('u_a');
    keys.getOrCreate('u_b');
    await using opened = await stores.open(kind);
    const clips = new ClipAudioFiles(opened.store, keys);
    const samples = tone(2);
    await clips.write('u_a', 'clip_1', { samples, sampleRate: 16_000 });
    const back = await clips.read('u_a', 'clip_1');
    assert.equal(back.sampleRate, 16_000);
    assert.equal(back.samples.length, samples.length);
    for (let i = 0; i < samples.length; i += 997) assert.ok(Math.abs((back.samples[i] ?? 0) - (samples[i] ?? 0)) < 1e-4);

    await copyObject(opened.store, clipKey('u_a', 'clip_1'), clipKey('u_a', 'clip_2'));
    await assert.rejects(clips.read('u_a', 'clip_2'), EncryptedFileError, 'another clip id');
    await copyObject(opened.store, clipKey('u_a', 'clip_1'), clipKey('u_b', 'clip_1'));
    await assert.rejects(clips.read('u_b', 'clip_1'), EncryptedFileError, 'another user');

    await clips.delete('u_a', ['clip_1', 'clip_2', 'clip_never']);
    await assert.rejects(clips.read('u_a', 'clip_1'), BlobNotFoundError);
    assert.deepEqual(
      (await opened.store.list('users/u_a/')).map((o) => o.key),
      [],
    );
    keys.destroy('u_b');
    await assert.rejects(clips.write('u_b', 'clip_3', { samples, sampleRate: 16_000 }), DataKeyMissingError);
  });

  test('a voiceprint round-trips, a missing one is null, a moved one does not open', async () => {
    const { store: keys } = keyStore();
    keys.getOrCreate('u_a');
    await using opened = await stores.open(kind);
    const vault = new EnrolmentFiles(opened.store, keys);
    assert.equal(await vault.read('u_a', 'c_1'), null);
    const print = Buffer.from(Float32Array.from({ length: 192 }, (_, i) => Math.cos(i)).buffer);
    await vault.write('u_a', 'c_1', print);
    assert.deepEqual(Buffer.from((await vault.read('u_a', 'c_1')) ?? []), print);
    await copyObject(opened.store, enrolmentKey('u_a', 'c_1'), enrolmentKey('u_a', 'c_2'));
    await assert.rejects(vault.read('u_a', 'c_2'), EncryptedFileError);
    keys.destroy('u_a');
    await assert.rejects(vault.read('u_a', 'c_1'), DataKeyMissingError);
  });
});

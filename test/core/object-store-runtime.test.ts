import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createClassicBackend } from '../../src/engine/backends/classic/index.ts';
import { VoiceFileFolders } from '../../src/storage/clip-audio-files.ts';
import { DataKeyStore } from '../../src/storage/data-keys.ts';
import { MasterKey } from '../../src/storage/master-key.ts';
import { S3BlobStore } from '../../src/storage/s3-blob-store.ts';
import { StorageError } from '../../src/storage/storage-error.ts';
import { clonedVoice, eventually, startRuntime } from '../support/runtime-fixture.ts';
import { speakerFiles } from '../support/speech-data.ts';
import { S3_TEST_CREDENTIALS, S3_TEST_REGION, startTestS3, type TestS3 } from '../support/s3-server.ts';

let s3: TestS3;
beforeAll(async () => {
  // The SDK's own credential chain reads these, as on an operator's host.
  process.env['AWS_ACCESS_KEY_ID'] = S3_TEST_CREDENTIALS.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = S3_TEST_CREDENTIALS.secretAccessKey;
  s3 = await startTestS3();
}, 30_000);
afterAll(async () => {
  await s3?.cleanup();
});

async function bucketKeys(prefix = ''): Promise<string[]> {
  const listed = await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
}

const everywhere = { platform: 'cli', contextId: '*' };

test('with VOCALIS_S3_BUCKET the clip and every model version live in the bucket, none on disk; a worker-style reader needs no data dir; revocation proves the user prefix empty', async () => {
  const f = await startRuntime({ env: { ...s3.env } });
  try {
    const { runtime } = f;
    assert.equal(runtime.blobs.kind, 's3');
    const victim = await clonedVoice(runtime, 'victim');
    const bystander = await clonedVoice(runtime, 'bystander');

    const keys = await bucketKeys(`users/${victim.userId}/`);
    assert.ok(
      keys.some((k) => /\/samples\/[^/]+\.enc$/.test(k)),
      `a clip in the bucket: ${keys.join(', ')}`,
    );
    const fineTuned = keys.filter((k) => k.startsWith(`users/${victim.userId}/voices/${victim.voiceId}/v`));
    assert.ok(fineTuned.length >= 2, `the preview and the fine-tuned version: ${keys.join(', ')}`);
    assert.ok(
      keys.every((k) => !k.includes('victim')),
      'keys carry internal ids only, never platform ids',
    );
    // Nothing of any user is in the service's data directory: the worker read the sample from and wrote the model to the bucket.
    assert.equal((await readdir(f.dataDir)).includes('users'), false);

    // Speaking loads the fine-tuned model from the bucket.
    const speech = runtime.vocalis.speak({ requester: victim.identity, context: everywhere, text: 'hello there' });
    const first = await speech.audio[Symbol.asyncIterator]().next();
    assert.equal(first.done, false);

    // A worker on another host: its own process state, no data directory, only the bucket and the key store.
    const worker = new S3BlobStore({ bucket: s3.bucket, endpoint: s3.endpoint, region: S3_TEST_REGION });
    try {
      const dataKeys = new DataKeyStore(runtime.db, new MasterKey(Buffer.from(f.masterKey, 'hex')));
      const version = runtime.voices.require(victim.voiceId).currentVersion;
      assert.ok(version !== null);
      const files = new VoiceFileFolders(worker, dataKeys).files(victim.userId, victim.voiceId, version);
      const model = JSON.parse(Buffer.from(await files.read('tone.json')).toString('utf8')) as { kind: string };
      assert.equal(model.kind, 'finetuned');
    } finally {
      await worker.close();
    }

    const receipt = await runtime.vocalis.revoke({ target: victim.identity, actor: { kind: 'operator' } });
    assert.deepEqual(receipt.filesProof, { store: 's3', prefix: `users/${victim.userId}/`, listedAfter: 0 });
    assert.ok(receipt.deleted.files >= 3, `clip and model versions deleted: ${receipt.deleted.files}`);
    assert.deepEqual(await bucketKeys(`users/${victim.userId}/`), [], 'the bucket holds nothing of the revoked user');
    assert.ok((await bucketKeys(`users/${bystander.userId}/`)).length >= 3, "the bystander's objects stay");
    const event = runtime.ledger.events({ subject: victim.userId, type: 'deletion.receipt' }).at(-1);
    assert.deepEqual(event?.data['filesProof'], { store: 's3', prefix: `users/${victim.userId}/`, listedAfter: 0 });
  } finally {
    await f.close();
  }
});

test('revocation with the object store down: the key is shredded, the failure is reported and recorded, no receipt claims deletion; the retention sweep finishes it once the store is back', async () => {
  const f = await startRuntime({ env: { ...s3.env } });
  try {
    const { runtime } = f;
    const victim = await clonedVoice(runtime, 'victim');
    await s3.stop();
    try {
      await assert.rejects(
        runtime.vocalis.revoke({ target: victim.identity, actor: { kind: 'operator' } }),
        (error: unknown) => error instanceof StorageError && error.code === 'store_unavailable',
      );
    } finally {
      await s3.start();
    }
    const types = runtime.ledger.events({ subject: victim.userId }).map((e) => e.type);
    assert.ok(types.includes('deletion.incomplete'), types.join(', '));
    assert.equal(types.includes('deletion.receipt'), false);
    // Crypto-shredding happened first: what is left in the bucket is unreadable.
    assert.equal(runtime.db.prepare('SELECT COUNT(*) AS n FROM data_keys WHERE user_id = ?').get(victim.userId)?.['n'], 0);
    assert.ok((await bucketKeys(`users/${victim.userId}/`)).length > 0);

    // The store is back: the next retention sweep finishes the erasure and records its proof.
    assert.equal((await runtime.retention.sweep()).erasuresFinished, 1);
    assert.deepEqual(await bucketKeys(`users/${victim.userId}/`), []);
    const completed = runtime.ledger.events({ subject: victim.userId, type: 'deletion.completed' });
    assert.equal(completed.length, 1);
    assert.deepEqual(completed[0]?.data['filesProof'], { store: 's3', prefix: `users/${victim.userId}/`, listedAfter: 0 });
    assert.equal((await runtime.retention.sweep()).erasuresFinished, 0, 'done once');
  } finally {
    await f.close();
  }
});

test('the classic backend fine-tunes through the bucket: the sample read from it, the model written to it, nothing of the user on disk', async () => {
  const f = await startRuntime({ env: { ...s3.env }, backends: [createClassicBackend({ baseVoices: ['flite-slt'], mixtures: [1, 2] })] });
  try {
    const { runtime } = f;
    // The classic backend wants 45 s of net speech: LibriSpeech 3331's utterances, one clip each, until the clone starts.
    const identity = { platform: 'cli', platformUserId: 'classic-user' };
    const offer = runtime.vocalis.offerConsent({ identity, language: 'en', context: everywhere });
    runtime.vocalis.acceptConsent({ identity, consentId: offer.consent.id });
    let clone: { jobId: string; voiceId: string } | undefined;
    for (const file of speakerFiles('3331')) {
      const outcome = await runtime.vocalis.addClip({ identity, audio: await readFile(file) });
      if (outcome.kind === 'stored' && outcome.clone) {
        clone = outcome.clone;
        break;
      }
    }
    assert.ok(clone, 'the sample completed and a fine-tune was queued');
    await eventually(() => runtime.jobs.get(clone.jobId)?.state === 'completed', 480_000, 'the classic fine-tune');
    const voice = { identity, userId: runtime.users.find('cli', 'classic-user')!.id, voiceId: clone.voiceId };
    const version = runtime.voices.require(voice.voiceId).currentVersion;
    assert.ok(version !== null && version > 1, 'a fine-tuned version is published');
    const keys = await bucketKeys(`users/${voice.userId}/voices/${voice.voiceId}/v${version}/`);
    assert.ok(keys.length > 0, 'the fine-tuned model is in the bucket');
    assert.equal((await readdir(f.dataDir)).includes('users'), false);
    const speech = runtime.vocalis.speak({ requester: voice.identity, context: everywhere, text: 'hello there' });
    const first = await speech.audio[Symbol.asyncIterator]().next();
    assert.equal(first.done, false, 'the voice speaks from the model it loaded out of the bucket');
  } finally {
    await f.close();
  }
});

import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRuntime, eventually } from '../support/runtime-fixture.ts';
import { createToneBackend } from '../support/tone-backend.ts';
import { dumpRedis } from '../support/redis-dump.ts';
import { speakerFiles } from '../support/speech-data.ts';
import { decodeAudio } from '../../src/engine/audio/decode.ts';

const cli = (id: string) => ({ platform: 'cli', platformUserId: id });
const everywhere = { platform: 'cli', contextId: '*' };

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

/** 16-bit PCM runs of the user's speech, as they would sit in any WAV, WAL page or cache. */
function fingerprints(samples: Float32Array): Buffer[] {
  const pcm = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) pcm.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i] ?? 0)) * 32767), i * 2);
  const windows: Buffer[] = [];
  for (let offset = pcm.length / 4; windows.length < 8; offset += 4000) windows.push(pcm.subarray(Math.floor(offset) & ~1, (Math.floor(offset) & ~1) + 32));
  return windows;
}

test('revocation mid-job cancels the fine-tune, stops streams, and leaves no byte of the voice anywhere', async () => {
  const f = await startRuntime({ backends: [createToneBackend({ stepMs: 400, steps: 20, wordMs: 100 })] });
  try {
    const { vocalis, jobs, redisUrl, paths, db } = f.runtime;
    const file = speakerFiles('1998')[0]!;
    const audio = await readFile(file);
    const offer = vocalis.offerConsent({ identity: cli('victim'), language: 'en', context: everywhere });
    vocalis.acceptConsent({ identity: cli('victim'), consentId: offer.consent.id });
    const outcome = await vocalis.addClip({ identity: cli('victim'), audio });
    assert.ok(outcome.kind === 'stored' && outcome.clone);
    const { jobId, voiceId } = outcome.clone;
    await eventually(() => jobs.get(jobId)?.state === 'active', 10_000, 'job to start');
    // A bystander whose data must survive.
    const other = vocalis.offerConsent({ identity: cli('bystander'), language: 'en', context: everywhere });
    vocalis.acceptConsent({ identity: cli('bystander'), consentId: other.consent.id });

    // The preview voice is speaking when the revocation lands.
    const speech = vocalis.speak({ requester: cli('victim'), context: everywhere, text: Array(50).fill('word').join(' ') });
    const iterator = speech.audio[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).done, false);

    const started = Date.now();
    const receipt = await vocalis.revoke({ target: cli('victim'), actor: { kind: 'user', platform: 'cli', platformUserId: 'victim' } });
    await assert.rejects(iterator.next(), { code: 'no_consent' });
    assert.ok(Date.now() - started < 1000, 'the stream stops within a second');
    assert.equal(receipt.deleted.clips, 1);
    assert.ok(receipt.deleted.files >= 2, 'the clip and the preview model were deleted');
    assert.equal(receipt.deleted.activeWorkStopped, 2, 'the stream and the in-process training job');

    await eventually(() => jobs.get(jobId)?.state === 'cancelled', 10_000, 'job cancelled');
    // Give the worker time to notice, abort and clean up its scratch folder.
    await eventually(() => f.runtime.worker?.activeJobs().length === 0, 10_000, 'worker idle');
    assert.throws(() => vocalis.speak({ requester: cli('victim'), context: everywhere, text: 'hello' }), { code: 'no_consent' });
    await assert.rejects(vocalis.startClone({ identity: cli('victim') }), { code: 'no_consent' });

    // Scan the data directory: nothing under the user's folder, no plaintext speech anywhere.
    const victim = f.runtime.users.find('cli', 'victim')!;
    await assert.rejects(stat(paths.userDir(victim.id)), { code: 'ENOENT' });
    const decoded = await decodeAudio(audio, { sampleRate: 48_000 });
    const needles = fingerprints(decoded.samples);
    for (const path of await filesUnder(f.dataDir)) {
      const bytes = await readFile(path);
      for (const needle of needles) assert.equal(bytes.includes(needle), false, `speech bytes found in ${path}`);
      assert.equal(bytes.includes(Buffer.from(victim.id)) && path.includes('users'), false, `user folder file ${path} survived`);
    }
    // SQLite: no key, no clips, no versions for the user.
    assert.equal(db.prepare('SELECT COUNT(*) AS n FROM data_keys WHERE user_id = ?').get(victim.id)?.['n'], 0);
    assert.equal(db.prepare('SELECT COUNT(*) AS n FROM sample_clips WHERE user_id = ?').get(victim.id)?.['n'], 0);
    assert.equal(db.prepare('SELECT COUNT(*) AS n FROM voice_versions WHERE voice_id = ?').get(voiceId)?.['n'], 0);
    assert.equal(db.prepare('SELECT COUNT(*) AS n FROM data_keys').get()?.['n'], 1, "the bystander's key is untouched");

    // Redis: no key and no value of any type (streams included) mentions the voice or the user.
    const redis = new Redis(redisUrl!, { maxRetriesPerRequest: 1 });
    try {
      for (const { key, type, dump } of await dumpRedis(redis)) {
        assert.equal(key.includes(voiceId) || key.includes(victim.id), false, `redis key ${key} mentions the voice or user`);
        assert.equal(dump.includes(voiceId) || dump.includes(victim.id), false, `redis ${type} ${key} mentions the voice or user`);
      }
    } finally {
      redis.disconnect();
    }
    const events = f.runtime.ledger.events({ subject: victim.id }).map((e) => e.type);
    assert.ok(events.includes('consent.revoked') && events.includes('deletion.receipt'));
    assert.equal(f.runtime.ledger.verify().ok, true);
  } finally {
    await f.close();
  }
});

test('only the owner, a scope admin or the operator may revoke', async () => {
  const f = await startRuntime({ needs: { queue: true } });
  try {
    const { vocalis } = f.runtime;
    const member = { platform: 'discord', platformUserId: 'm1' };
    const offer = vocalis.offerConsent({ identity: member, language: 'en', context: { platform: 'discord', contextId: 'guild-a' } });
    vocalis.acceptConsent({ identity: member, consentId: offer.consent.id });
    await assert.rejects(vocalis.revoke({ target: member, actor: { kind: 'user', platform: 'discord', platformUserId: 'someone-else' } }), {
      code: 'not_permitted',
    });
    await assert.rejects(vocalis.revoke({ target: member, actor: { kind: 'admin', platform: 'discord', context: 'guild-b', platformUserId: 'admin-b' } }), {
      code: 'not_permitted',
    });
    const receipt = await vocalis.revoke({ target: member, actor: { kind: 'admin', platform: 'discord', context: 'guild-a', platformUserId: 'admin-a' } });
    assert.equal(receipt.by, 'admin:discord:guild-a:admin-a');
    await assert.rejects(vocalis.revoke({ target: member, actor: { kind: 'operator' } }), { code: 'no_consent' });
  } finally {
    await f.close();
  }
});

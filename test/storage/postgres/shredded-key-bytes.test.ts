import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Revocation } from '../../../src/consent/revocation.ts';
import { DataKeyStore } from '../../../src/storage/data-keys.ts';
import { JobHistory } from '../../../src/storage/job-history.ts';
import { MasterKey } from '../../../src/storage/master-key.ts';
import { SampleClipIndex } from '../../../src/storage/sample-clips.ts';
import { UtteranceMarkRecords } from '../../../src/storage/utterance-marks.ts';
import { VoiceCatalog } from '../../../src/storage/voice-catalog.ts';
import { consentFixture } from '../../support/consent-fixture.ts';

/**
 * MVCC keeps a deleted row's bytes in the table file: VACUUM frees the row but the bytes of the
 * newest one stay in the page's free space. After revocation the shredded key's wrapped bytes
 * must not be in the data_keys table file any more (the server runs on this machine, so the
 * test reads its files). What stays in the WAL is documented, not tested away.
 */
test("after revocation the table file holds no copy of the shredded key's wrapped bytes", async () => {
  const f = consentFixture();
  try {
    const keys = new DataKeyStore(f.db, new MasterKey(randomBytes(32)), f.clock.now);
    for (const other of ['anna', 'bert']) keys.getOrCreate(f.users.resolve('cli', other).id);
    const user = f.users.resolve('cli', 'owner');
    const offer = f.consents.offer({ userId: user.id, language: 'en', scope: { platform: 'cli', context: '*', speakers: { mode: 'owner' } }, actor: 'test' });
    f.consents.accept(offer.consent.id, 'test');
    // The victim's key is the newest row: the one whose bytes a plain VACUUM leaves in free space.
    keys.getOrCreate(user.id);
    const wrapped = Buffer.from(f.db.prepare('SELECT wrapped FROM data_keys WHERE user_id = ?').get(user.id)?.['wrapped'] as Uint8Array);
    const dataDir = String(f.db.prepare('SELECT setting FROM pg_settings WHERE name = ?').get('data_directory')?.['setting']);
    const tableFile = () => {
      f.db.exec('CHECKPOINT');
      return readFileSync(join(dataDir, String(f.db.prepare("SELECT pg_relation_filepath('data_keys') AS p").get()?.['p'])));
    };
    assert.ok(tableFile().includes(wrapped), 'the test sees the key in the table file before revocation');

    const revocation = new Revocation({
      db: f.db,
      users: f.users,
      consents: f.consents,
      gate: f.gate,
      keys,
      voices: new VoiceCatalog(f.db, f.clock.now),
      clips: new SampleClipIndex(f.db, f.clock.now),
      jobs: new JobHistory(f.db, f.clock.now),
      ledger: f.ledger,
      clock: f.clock.now,
      marks: new UtteranceMarkRecords(f.db, f.clock.now),
      hooks: {
        cancelJobs: async () => {},
        evictVoices: () => {},
        eraseFiles: async () => ({ files: 0, bytes: 0, proof: { store: 'filesystem', prefix: `users/${user.id}/`, listedAfter: 0 } }),
      },
    });
    await revocation.revoke(user.id, { kind: 'operator' }, 'test');
    assert.equal(tableFile().includes(wrapped), false, "the shredded key's bytes are gone from the table file");
    assert.ok(keys.get(f.users.resolve('cli', 'anna').id), 'the other users keep their keys');
  } finally {
    f.close();
  }
});

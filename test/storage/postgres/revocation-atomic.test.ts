import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Revocation } from '../../../src/consent/revocation.ts';
import { DataKeyStore } from '../../../src/storage/data-keys.ts';
import { JobHistory } from '../../../src/storage/job-history.ts';
import { MasterKey } from '../../../src/storage/master-key.ts';
import { SampleClipIndex } from '../../../src/storage/sample-clips.ts';
import type { SqlDatabase } from '../../../src/storage/sql-database.ts';
import { StorageError } from '../../../src/storage/storage-error.ts';
import { UtteranceMarkRecords } from '../../../src/storage/utterance-marks.ts';
import { VoiceCatalog } from '../../../src/storage/voice-catalog.ts';
import { consentFixture } from '../../support/consent-fixture.ts';

/**
 * Revocation's transaction on PostgreSQL when the connection dies inside it: the server kills
 * the backend (as a failover or a network cut would) after the key was shredded and the consent
 * ended, before the commit. Nothing of it may be left half-done: the key and the live consent
 * are both still there, the ledger has no revocation, and the next attempt (on a new
 * connection) revokes completely.
 */

/** A catalog whose step inside the revocation transaction has the server end this connection first. */
class ConnectionKillingCatalog extends VoiceCatalog {
  kill: (() => void) | null = null;
  override markDeletedForUser(userId: string): string[] {
    this.kill?.();
    this.kill = null;
    return super.markDeletedForUser(userId);
  }
}

test('a connection killed inside the revocation transaction leaves the key, the live consent and the ledger as they were', async () => {
  const f = consentFixture();
  const observer: SqlDatabase = f.connectAgain();
  try {
    const keys = new DataKeyStore(f.db, new MasterKey(randomBytes(32)), f.clock.now);
    const user = f.users.resolve('cli', 'owner');
    const offer = f.consents.offer({ userId: user.id, language: 'en', scope: { platform: 'cli', context: '*', speakers: { mode: 'owner' } }, actor: 'test' });
    f.consents.accept(offer.consent.id, 'test');
    f.consents.sampleCollected(offer.consent.id);
    keys.getOrCreate(user.id);
    const catalog = new ConnectionKillingCatalog(f.db, f.clock.now);
    catalog.ensure(user.id, offer.consent.id, 'tone');
    const revocation = new Revocation({
      db: f.db,
      users: f.users,
      consents: f.consents,
      gate: f.gate,
      keys,
      voices: catalog,
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
    const backend = Number(f.db.prepare('SELECT pg_backend_pid() AS pid').get()?.['pid']);
    const seen = () => ({
      keys: Number(observer.prepare('SELECT COUNT(*) AS n FROM data_keys WHERE user_id = ?').get(user.id)?.['n']),
      consent: String(observer.prepare('SELECT state FROM consents WHERE id = ?').get(offer.consent.id)?.['state']),
      revokedEvents: Number(observer.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE type = 'consent.revoked'").get()?.['n']),
    });
    let inside: ReturnType<typeof seen> | null = null;
    catalog.kill = () => {
      inside = seen();
      observer.prepare('SELECT pg_terminate_backend(?)').get(backend);
    };

    await assert.rejects(
      revocation.revoke(user.id, { kind: 'operator' }, 'test'),
      (error: unknown) => error instanceof StorageError && error.code === 'database_unavailable',
    );
    assert.deepEqual(inside, { keys: 1, consent: 'sample_collected', revokedEvents: 0 }, 'the connection was killed before anything was committed');
    assert.deepEqual(seen(), { keys: 1, consent: 'sample_collected', revokedEvents: 0 }, 'nothing of the revocation survived the lost connection');
    assert.equal(f.ledger.verify().ok, true);

    // The next call connects again and the revocation completes.
    const receipt = await revocation.revoke(user.id, { kind: 'operator' }, 'test');
    assert.equal(receipt.outcome, 'revoked');
    assert.deepEqual(seen(), { keys: 0, consent: 'revoked', revokedEvents: 1 });
    assert.notEqual(Number(f.db.prepare('SELECT pg_backend_pid() AS pid').get()?.['pid']), backend, 'a new connection');
  } finally {
    observer.close();
    f.close();
  }
});

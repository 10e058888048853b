import { UtteranceMarkRecords } from '../../src/storage/utterance-marks.ts';
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Revocation, type DataKeyShredder, type ErasureHooks } from '../../src/consent/revocation.ts';
import { DataKeyStore } from '../../src/storage/data-keys.ts';
import { JobHistory } from '../../src/storage/job-history.ts';
import { MasterKey } from '../../src/storage/master-key.ts';
import { SampleClipIndex } from '../../src/storage/sample-clips.ts';
import { VoiceCatalog } from '../../src/storage/voice-catalog.ts';
import { consentFixture } from '../support/consent-fixture.ts';

/**
 * Crypto-shredding first: the consent ends and the user's data key is destroyed in ONE
 * transaction (SQLite or PostgreSQL), before any stream, job, cache or file is touched. A second
 * connection to the same database (as another process would have) watches what is committed
 * at each step.
 */

interface Seen {
  readonly keys: number;
  readonly consent: string;
}

/** A catalog whose step inside the revocation transaction fails, after the key was destroyed. */
class FailingCatalog extends VoiceCatalog {
  override markDeletedForUser(): string[] {
    throw new Error('disk I/O error (injected after the key was destroyed)');
  }
}

function setUp(options: { failAfterShredding?: boolean } = {}) {
  const f = consentFixture();
  const keys = new DataKeyStore(f.db, new MasterKey(randomBytes(32)), f.clock.now);
  const user = f.users.resolve('cli', 'owner');
  const offer = f.consents.offer({ userId: user.id, language: 'en', scope: { platform: 'cli', context: '*', speakers: { mode: 'owner' } }, actor: 'test' });
  f.consents.accept(offer.consent.id, 'test');
  f.consents.sampleCollected(offer.consent.id);
  keys.getOrCreate(user.id);
  new VoiceCatalog(f.db, f.clock.now).ensure(user.id, offer.consent.id, 'tone');
  const catalog = options.failAfterShredding ? new FailingCatalog(f.db, f.clock.now) : new VoiceCatalog(f.db, f.clock.now);
  const observer = f.connectAgain();
  const observe = (): Seen => ({
    keys: Number(observer.prepare('SELECT COUNT(*) AS n FROM data_keys WHERE user_id = ?').get(user.id)?.['n']),
    consent: String(observer.prepare('SELECT state FROM consents WHERE id = ?').get(offer.consent.id)?.['state']),
  });
  const steps: Array<{ step: string; seen: Seen; inTransaction: boolean }> = [];
  const record = (step: string) => steps.push({ step, seen: observe(), inTransaction: f.db.isTransaction });
  const shredder: DataKeyShredder = {
    destroy(userId) {
      record('destroy key');
      keys.destroy(userId);
    },
  };
  const hooks: ErasureHooks = {
    cancelJobs: async () => void record('cancel jobs'),
    evictVoices: () => void record('evict voices'),
    eraseFiles: async () => {
      record('erase files');
      return { files: 0, bytes: 0, proof: { store: 'filesystem', prefix: 'users/u_x/', listedAfter: 0 } };
    },
  };
  const revocation = new Revocation({
    db: f.db,
    users: f.users,
    consents: f.consents,
    gate: f.gate,
    keys: shredder,
    voices: catalog,
    clips: new SampleClipIndex(f.db, f.clock.now),
    jobs: new JobHistory(f.db, f.clock.now),
    ledger: f.ledger,
    hooks,
    clock: f.clock.now,
    marks: new UtteranceMarkRecords(f.db, f.clock.now),
  });
  const ticket = f.gate.authorize({
    purpose: 'speak',
    ownerUserId: user.id,
    requester: { platform: 'cli', platformUserId: 'owner' },
    context: { platform: 'cli', contextId: '*' },
    text: 'hello',
  });
  ticket.signal.addEventListener('abort', () => record('abort streams'));
  return {
    f,
    keys,
    user,
    consentId: offer.consent.id,
    revocation,
    steps,
    ticket,
    observe,
    close(): void {
      observer.close();
      f.close();
    },
  };
}

test('the key is destroyed inside the transaction that ends the consent, before any other step', async () => {
  const s = setUp();
  try {
    await s.revocation.revoke(s.user.id, { kind: 'operator' }, 'test');
    assert.deepEqual(
      s.steps.map((x) => x.step),
      ['destroy key', 'abort streams', 'cancel jobs', 'evict voices', 'erase files'],
    );
    const [destroy, ...after] = s.steps;
    assert.equal(destroy!.inTransaction, true, 'the key is destroyed inside a transaction');
    // Another connection still sees the consent live: the state change and the shredding commit together.
    assert.equal(destroy!.seen.consent, 'sample_collected', 'the consent end was not committed before the key went');
    assert.equal(destroy!.seen.keys, 1);
    for (const step of after) {
      assert.deepEqual(step.seen, { keys: 0, consent: 'revoked' }, `when "${step.step}" runs, the revoked consent and the shredded key are committed`);
      assert.equal(step.inTransaction, false, `"${step.step}" runs after the commit`);
    }
    assert.equal(s.keys.get(s.user.id), null);
  } finally {
    s.close();
  }
});

test('a failure between shredding and the commit rolls both back: the consent stays live with its key, nothing else is touched', async () => {
  const s = setUp({ failAfterShredding: true });
  try {
    await assert.rejects(s.revocation.revoke(s.user.id, { kind: 'operator' }, 'test'), /injected/);
    assert.deepEqual(
      s.steps.map((x) => x.step),
      ['destroy key'],
      'nothing after the failed transaction ran',
    );
    assert.deepEqual(s.observe(), { keys: 1, consent: 'sample_collected' }, 'the key and the live consent are both still there');
    assert.notEqual(s.keys.get(s.user.id), null, 'the key still opens');
    assert.equal(s.ticket.signal.aborted, false, 'streams go on: the consent is still live');
    assert.equal(s.f.consents.store.live(s.user.id)?.id, s.consentId);
  } finally {
    s.close();
  }
});

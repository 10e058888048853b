import { test } from 'vitest';
import assert from 'node:assert/strict';
import { VerificationStore } from '../../src/consent/verification/verification-store.ts';
import type { VerifiedReading } from '../../src/consent/verification/verification-record.ts';
import { consentFixture } from '../support/consent-fixture.ts';

/**
 * What verification keeps per consent, in plain SQL both engines speak (this file runs on SQLite
 * and on PostgreSQL): clip matches appended in order, counters that count.
 */
test('clip matches are appended in order and counters count, on either database', () => {
  const f = consentFixture({ verification: 'required' });
  try {
    const user = f.users.resolve('cli', 'owner');
    const offer = f.consents.offer({ userId: user.id, language: 'en', scope: { platform: 'cli', context: '*', speakers: { mode: 'owner' } }, actor: 'test' });
    f.consents.accept(offer.consent.id, 'test');
    const store = new VerificationStore(f.db);
    const at = f.clock.now().toISOString();
    assert.equal(store.readingFailed(offer.consent.id, at), 1);
    assert.equal(store.readingFailed(offer.consent.id, at), 2);
    const reading: VerifiedReading = {
      assurance: 'recognised',
      method: 'test',
      recognizerVersion: '1',
      coverage: 1,
      words: [],
      missing: [],
      challenge: 'x',
      speakerModel: { name: 'test', version: '1' },
      speechSeconds: 4,
      at: '2026-01-01T00:00:00.000Z',
    };
    store.readingVerified(offer.consent.id, reading, at);
    store.clipMatched(offer.consent.id, { clipId: 'clip_a', score: 0.9, threshold: 0.5, speechSeconds: 4.5 }, at);
    store.clipMatched(offer.consent.id, { clipId: 'clip_b', score: 0.8, threshold: 0.5, speechSeconds: 3 }, at);
    assert.equal(store.mismatched(offer.consent.id, at), 1);
    const record = store.get(offer.consent.id);
    assert.equal(record?.status, 'verified');
    assert.deepEqual(record?.status === 'verified' ? record.clips : null, [
      { clipId: 'clip_a', score: 0.9, threshold: 0.5, speechSeconds: 4.5 },
      { clipId: 'clip_b', score: 0.8, threshold: 0.5, speechSeconds: 3 },
    ]);
    assert.equal(record?.status === 'verified' ? record.failedReadings : null, 2);
  } finally {
    f.close();
  }
});

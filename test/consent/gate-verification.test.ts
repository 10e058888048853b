import assert from 'node:assert/strict';
import { test } from 'vitest';
import { VerificationStore } from '../../src/consent/verification/verification-store.ts';
import { consentFixture } from '../support/consent-fixture.ts';

test('the gate refuses training and speech under required verification until the statement reading was verified', () => {
  const f = consentFixture({ verification: 'required' });
  try {
    const user = f.users.resolve('cli', 'vera');
    const offer = f.consents.offer({ userId: user.id, language: 'en', scope: { platform: 'cli', context: '*', speakers: { mode: 'owner' } }, actor: 'test' });
    f.consents.accept(offer.consent.id, 'test');
    // Only possible by going around addClip (which takes nothing before the reading): the gate still holds.
    f.consents.sampleCollected(offer.consent.id);
    assert.throws(() => f.gate.authorize({ purpose: 'train', userId: user.id }), { code: 'not_verified' });
    const requester = { platform: 'cli', platformUserId: 'vera' };
    assert.throws(() => f.gate.authorize({ purpose: 'speak', ownerUserId: user.id, requester, context: { platform: 'cli', contextId: '*' }, text: 'hello' }), {
      code: 'not_verified',
    });

    new VerificationStore(f.db).readingVerified(
      offer.consent.id,
      {
        assurance: 'recognised',
        method: 'test',
        recognizerVersion: 'test',
        coverage: 1,
        words: [],
        missing: [],
        challenge: offer.consent.challenge,
        speakerModel: { name: 'test', version: 'test' },
        speechSeconds: 8,
        at: f.clock.now().toISOString(),
      },
      f.clock.now().toISOString(),
    );
    f.gate.authorize({ purpose: 'train', userId: user.id }).release();
  } finally {
    f.close();
  }
});

import { test } from 'vitest';
import assert from 'node:assert/strict';
import { canTransition, LIVE_STATES } from '../../src/consent/consent-state.ts';
import { consentText, sha256Hex } from '../../src/consent/consent-texts.ts';
import { consentFixture } from '../support/consent-fixture.ts';

const scope = { platform: 'discord', context: 'g1', speakers: { mode: 'owner' } } as const;

test('terminal states have no way out', () => {
  for (const terminal of ['declined', 'revoked', 'expired'] as const) {
    for (const to of [...LIVE_STATES, 'revoked', 'expired', 'declined'] as const) assert.equal(canTransition(terminal, to), false);
  }
  assert.equal(canTransition('offered', 'voice_ready'), false, 'no skipping the grant');
});

test('offer → accept gives a receipt whose hash is the hash of the text shown', () => {
  const f = consentFixture();
  try {
    const user = f.users.resolve('discord', '42');
    const offer = f.consents.offer({ userId: user.id, language: 'en', scope, actor: 'user:discord:42' });
    assert.equal(offer.consent.state, 'offered');
    assert.equal(offer.text.sha256, sha256Hex(offer.text.body));
    assert.match(offer.script.sentences[0] ?? '', new RegExp(offer.consent.challenge));
    assert.ok(offer.script.sentences.length >= 12);
    const receipt = f.consents.accept(offer.consent.id, 'user:discord:42');
    assert.equal(receipt.textSha256, offer.text.sha256);
    assert.equal(receipt.consentId, offer.consent.id);
    assert.deepEqual(receipt.scope, scope);
    assert.deepEqual(
      f.ledger.events({ subject: user.id }).map((e) => e.type),
      ['consent.offered', 'consent.granted'],
    );
    assert.equal(f.ledger.verify().ok, true);
  } finally {
    f.close();
  }
});

test('an expired offer cannot be accepted', () => {
  const f = consentFixture();
  try {
    const user = f.users.resolve('telegram', '7');
    const offer = f.consents.offer({ userId: user.id, language: 'zh', scope, actor: 'user' });
    f.clock.advance(16 * 60_000);
    assert.throws(() => f.consents.accept(offer.consent.id, 'user'), { code: 'offer_expired' });
    assert.equal(f.store.get(offer.consent.id)?.state, 'expired');
  } finally {
    f.close();
  }
});

test('a second offer while one is granted is refused; a pending offer is replaced', () => {
  const f = consentFixture();
  try {
    const user = f.users.resolve('discord', '1');
    const first = f.consents.offer({ userId: user.id, language: 'en', scope, actor: 'u' });
    const second = f.consents.offer({ userId: user.id, language: 'en', scope, actor: 'u' });
    assert.equal(f.store.get(first.consent.id)?.state, 'expired');
    assert.notEqual(first.consent.challenge === second.consent.challenge && first.consent.id === second.consent.id, true);
    f.consents.accept(second.consent.id, 'u');
    assert.throws(() => f.consents.offer({ userId: user.id, language: 'en', scope, actor: 'u' }), { code: 'consent_exists' });
  } finally {
    f.close();
  }
});

test('consent texts are versioned and differ by language', () => {
  const params = { rawSampleRetentionDays: 7, voiceInactivityDays: 365, speakers: 'only you' };
  const en = consentText('en', params);
  const zh = consentText('zh', params);
  assert.equal(en.id, 'consent/v2/en');
  // v2 discloses the voiceprint kept for verification (biometric data) in both languages.
  assert.match(en.body, /voiceprint/);
  assert.match(zh.body, /声纹/);
  assert.notEqual(en.sha256, zh.sha256);
  assert.match(en.body, /What is recorded/);
  assert.match(en.body, /How to withdraw/);
  assert.match(en.body, /7 days/);
});

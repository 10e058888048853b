import { test } from 'vitest';
import assert from 'node:assert/strict';
import { checkSpeakableText } from '../../src/consent/text-guard.ts';
import { consentFixture } from '../support/consent-fixture.ts';

function readyVoice(speakers: { mode: 'owner' } | { mode: 'listed'; platformUserIds: string[] } | { mode: 'context' } = { mode: 'owner' }) {
  const f = consentFixture();
  const user = f.users.resolve('discord', 'owner');
  const offer = f.consents.offer({ userId: user.id, language: 'en', scope: { platform: 'discord', context: 'g1', speakers }, actor: 'u' });
  return { f, user, offer };
}

const speakAs = (ownerUserId: string, requester: string, contextId = 'g1', text = 'hello everyone') => ({
  purpose: 'speak' as const,
  ownerUserId,
  requester: { platform: 'discord', platformUserId: requester },
  context: { platform: 'discord', contextId },
  text,
});

test('nothing is allowed before the grant; recording after it; speech only once a sample exists', () => {
  const { f, user, offer } = readyVoice();
  try {
    assert.throws(() => f.gate.authorize({ purpose: 'record', userId: user.id }), { code: 'offer_pending' });
    f.consents.accept(offer.consent.id, 'u');
    f.gate.authorize({ purpose: 'record', userId: user.id }).release();
    assert.throws(() => f.gate.authorize(speakAs(user.id, 'owner')), { code: 'not_ready' });
    assert.throws(() => f.gate.authorize({ purpose: 'train', userId: user.id }), { code: 'not_ready' });
    f.consents.sampleCollected(offer.consent.id);
    f.gate.authorize({ purpose: 'train', userId: user.id }).release();
    f.gate.authorize(speakAs(user.id, 'owner')).release();
  } finally {
    f.close();
  }
});

test('only the owner speaks by default; sharing and scope are enforced', () => {
  const { f, user, offer } = readyVoice({ mode: 'listed', platformUserIds: ['friend'] });
  try {
    f.consents.accept(offer.consent.id, 'u');
    f.consents.sampleCollected(offer.consent.id);
    f.consents.voiceReady(offer.consent.id);
    f.gate.authorize(speakAs(user.id, 'friend')).release();
    assert.throws(() => f.gate.authorize(speakAs(user.id, 'stranger')), { code: 'not_allowed_speaker' });
    assert.throws(() => f.gate.authorize(speakAs(user.id, 'owner', 'other-guild')), { code: 'out_of_scope' });
  } finally {
    f.close();
  }
});

test('text repeating the consent statement or a live challenge is refused', () => {
  const { f, user, offer } = readyVoice();
  try {
    f.consents.accept(offer.consent.id, 'u');
    f.consents.sampleCollected(offer.consent.id);
    const statement = offer.script.sentences[0] ?? '';
    assert.throws(() => f.gate.authorize(speakAs(user.id, 'owner', 'g1', statement)), { code: 'forbidden_text' });
    assert.throws(() => f.gate.authorize(speakAs(user.id, 'owner', 'g1', 'I AM AWARE that recordings of my voice will be used by Vocalis!')), {
      code: 'forbidden_text',
    });
    const challenge = offer.consent.challenge.toUpperCase().split(' ').join(', ');
    assert.throws(() => f.gate.authorize(speakAs(user.id, 'owner', 'g1', `say ${challenge} now`)), { code: 'forbidden_text' });
    f.gate.authorize(speakAs(user.id, 'owner', 'g1', 'I am aware of the weather today.')).release();
  } finally {
    f.close();
  }
});

test('Chinese statements and challenges are caught too', () => {
  const verdict = checkSpeakableText('我知道我的声音录音将被 Vocalis 用于制作和使用我声音的合成版本', []);
  assert.deepEqual(verdict, { ok: false, reason: 'consent_statement' });
  assert.deepEqual(checkSpeakableText('今天的苹果月亮很好', ['苹果，月亮，星星，河流']), { ok: false, reason: 'challenge_phrase' });
  assert.deepEqual(checkSpeakableText('今天天气很好', ['苹果，月亮，星星，河流']), { ok: true });
});

test('a held ticket is aborted at once by abortAll, and by its watch timer when the consent ends elsewhere', async () => {
  const { f, user, offer } = readyVoice();
  try {
    f.consents.accept(offer.consent.id, 'u');
    f.consents.sampleCollected(offer.consent.id);
    const a = f.gate.authorize(speakAs(user.id, 'owner'));
    assert.equal(f.gate.abortAll(user.id, 'revoked'), 1);
    assert.equal(a.signal.aborted, true);

    const b = f.gate.authorize(speakAs(user.id, 'owner')).watch(50);
    // Another process ends the consent: only the database changes.
    f.db.prepare("UPDATE consents SET state = 'revoked' WHERE id = ?").run(offer.consent.id);
    const started = Date.now();
    await new Promise<void>((resolve) => b.signal.addEventListener('abort', () => resolve(), { once: true }));
    assert.ok(Date.now() - started < 1000);
    assert.throws(() => b.check(), { code: 'no_consent' });
    assert.equal(f.gate.activeTickets, 0);
  } finally {
    f.close();
  }
});

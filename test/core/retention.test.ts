import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { startRuntime, eventually } from '../support/runtime-fixture.ts';
import { ManualClock } from '../support/consent-fixture.ts';
import { speakerFiles } from '../support/speech-data.ts';

const DAY = 86_400_000;
const everywhere = { platform: 'cli', contextId: '*' };

async function readyVoice(f: Awaited<ReturnType<typeof startRuntime>>, id: string) {
  const identity = { platform: 'cli', platformUserId: id };
  const { vocalis, jobs } = f.runtime;
  const offer = vocalis.offerConsent({ identity, language: 'en', context: everywhere });
  vocalis.acceptConsent({ identity, consentId: offer.consent.id });
  const outcome = await vocalis.addClip({ identity, audio: await readFile(speakerFiles('3005')[0]!) });
  const jobId = outcome.kind === 'stored' ? outcome.clone?.jobId : undefined;
  await eventually(() => jobs.get(jobId!)?.state === 'completed', 15_000, 'fine-tune');
  return { identity, user: f.runtime.users.find('cli', id)! };
}

test('raw samples go 7 days after the voice is ready unless kept; the voice keeps speaking', async () => {
  const clock = new ManualClock(Date.now());
  const f = await startRuntime({ overrides: { clock: clock.now } });
  try {
    const plain = await readyVoice(f, 'plain');
    const keeper = await readyVoice(f, 'keeper');
    f.runtime.vocalis.setVoiceOptions({ identity: keeper.identity, keepRaw: true });
    clock.advance(6 * DAY);
    assert.deepEqual(await f.runtime.retention.sweep(), { offersExpired: 0, rawSamplesDeleted: 0, voicesExpired: 0, erasuresFinished: 0 });
    clock.advance(1 * DAY + 1000);
    assert.deepEqual(await f.runtime.retention.sweep(), { offersExpired: 0, rawSamplesDeleted: 1, voicesExpired: 0, erasuresFinished: 0 });
    assert.deepEqual(await readdir(f.runtime.paths.samplesDir(plain.user.id)), [], 'the raw clip file is gone');
    assert.equal((await readdir(f.runtime.paths.samplesDir(keeper.user.id))).length, 1, 'a kept sample stays');
    assert.equal(f.runtime.vocalis.status(plain.identity).sample.clips, 0);
    let chunks = 0;
    for await (const _ of f.runtime.vocalis.speak({ requester: plain.identity, context: everywhere, text: 'still me' }).audio) chunks++;
    // Chunking is the engine's (the audio mark re-frames the stream); that it speaks is the point.
    assert.ok(chunks > 0, 'the voice itself is untouched');
    assert.ok(f.runtime.ledger.events({ type: 'retention.raw_sample_deleted' }).length === 1);
  } finally {
    await f.close();
  }
});

test('unused voices expire with their consent after a year unless banked; use resets the clock', async () => {
  const clock = new ManualClock(Date.now());
  const f = await startRuntime({ overrides: { clock: clock.now } });
  try {
    const idle = await readyVoice(f, 'idle');
    const banked = await readyVoice(f, 'banked');
    const active = await readyVoice(f, 'active');
    f.runtime.vocalis.setVoiceOptions({ identity: banked.identity, banked: true });
    clock.advance(300 * DAY);
    for await (const _ of f.runtime.vocalis.speak({ requester: active.identity, context: everywhere, text: 'hello' }).audio) {
      /* use */
    }
    clock.advance(66 * DAY);
    const report = await f.runtime.retention.sweep();
    assert.equal(report.voicesExpired, 1);
    assert.equal(f.runtime.consents.store.latest(idle.user.id)?.state, 'expired');
    assert.throws(() => f.runtime.vocalis.speak({ requester: idle.identity, context: everywhere, text: 'hi' }), { code: 'no_consent' });
    assert.equal(f.runtime.consents.store.live(banked.user.id)?.state, 'voice_ready', 'a banked voice never expires');
    assert.equal(f.runtime.consents.store.live(active.user.id)?.state, 'voice_ready', 'a used voice is not idle');
    const receipts = f.runtime.ledger.events({ subject: idle.user.id, type: 'deletion.receipt' });
    assert.equal(receipts.length, 1);
    assert.equal(receipts[0]?.data['outcome'], 'expired');
  } finally {
    await f.close();
  }
});

test('an unanswered consent offer expires', async () => {
  const clock = new ManualClock(Date.now());
  const f = await startRuntime({ needs: { queue: false }, overrides: { clock: clock.now } });
  try {
    const identity = { platform: 'cli', platformUserId: 'undecided' };
    f.runtime.vocalis.offerConsent({ identity, language: 'en', context: everywhere });
    clock.advance(16 * 60_000);
    assert.equal((await f.runtime.retention.sweep()).offersExpired, 1);
    assert.equal(f.runtime.vocalis.status(identity).consent, null);
  } finally {
    await f.close();
  }
});

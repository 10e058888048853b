import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'vitest';
import { readingScript } from '../../src/consent/reading-script.ts';
import type { ClipOutcome } from '../../src/core/vocalis.ts';
import { startRuntime, type RuntimeFixture } from '../support/runtime-fixture.ts';
import { fliteWav, lavfiWav, MUSIC_SOURCE, type FliteVoice } from '../support/spoken-audio.ts';
import { createToneBackend } from '../support/tone-backend.ts';

const owner = { platform: 'telegram', platformUserId: '1001' };
const context = { platform: 'telegram', contextId: '1001' };

async function verifying(): Promise<RuntimeFixture> {
  return startRuntime({
    backends: [createToneBackend({ targetSpeechSeconds: 60 })],
    needs: { queue: false },
    env: { VOCALIS_CONSENT_VERIFICATION: 'required' },
  });
}

function granted(f: RuntimeFixture, identity = owner) {
  const offer = f.runtime.vocalis.offerConsent({ identity, language: 'en', context });
  const receipt = f.runtime.vocalis.acceptConsent({ identity, consentId: offer.consent.id });
  return { offer, receipt };
}

function statement(challenge: string): string {
  return readingScript('en', challenge).sentences[0]!;
}

function script(challenge: string, from: number, count: number): string {
  return readingScript('en', challenge)
    .sentences.slice(from, from + count)
    .join(' ');
}

/** Every file under the user's folder: what is kept of them on disk. */
function userFiles(f: RuntimeFixture, userId: string): string[] {
  const dir = join(f.dataDir, 'users', userId);
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => statSync(join(dir, p)).isFile());
}

function problemCodes(outcome: ClipOutcome): string[] {
  return outcome.verdict.problems.map((p) => p.code);
}

test('the statement read with the live phrase is recognised; the same voice is accepted, other voices are refused, counted without audio, and three end the consent', async () => {
  const f = await verifying();
  try {
    const { offer, receipt } = granted(f);
    assert.equal(receipt.verification, 'required');
    const { vocalis, ledger } = f.runtime;
    const userId = vocalis.identify(owner).id;
    const challenge = offer.consent.challenge;

    const reading = await vocalis.addClip({ identity: owner, audio: fliteWav('slt', statement(challenge)) });
    assert.equal(reading.kind, 'stored', `the reading is taken: ${problemCodes(reading).join(', ')}`);
    const verified = vocalis.status(owner).verification;
    assert.equal(verified?.status, 'verified');
    if (verified?.status !== 'verified') return;
    assert.equal(verified.reading.assurance, 'recognised');
    assert.match(verified.reading.speakerModel.name, /^gmm-ubm-/);
    for (const word of challenge.split(' ')) {
      const heard = verified.reading.words.find((w) => w.word === word);
      assert.ok(heard && heard.start !== null && heard.end !== null && heard.end > heard.start, `the phrase word "${word}" was heard, with its time`);
    }
    // The voiceprint is on disk only as ciphertext under the user's key.
    const enrolment = userFiles(f, userId).filter((p) => p.startsWith('enrolment'));
    assert.equal(enrolment.length, 1);
    assert.ok(!readFileSync(join(f.dataDir, 'users', userId, enrolment[0]!)).includes(Buffer.from('ENR1')), 'no plaintext voiceprint header');

    const same = await vocalis.addClip({ identity: owner, audio: fliteWav('slt', script(challenge, 1, 4)) });
    assert.equal(same.kind, 'stored', `the reader's own clip is taken: ${problemCodes(same).join(', ')}`);
    const afterSame = vocalis.status(owner);
    assert.equal(afterSame.sample.clips, 2);
    const threshold = f.runtime.config.consentVerification.speakerThreshold;
    assert.ok(afterSame.verification?.status === 'verified' && afterSame.verification.clips[0]!.score >= threshold);
    const filesBefore = userFiles(f, userId).length;

    const impostors: Array<[FliteVoice, string, string]> = [
      ['rms', script(challenge, 5, 4), 'speaker_mismatch'],
      // The right statement and phrase, read by someone else after the owner's reading.
      ['awb', statement(challenge), 'speaker_mismatch'],
      ['kal16', script(challenge, 9, 4), 'speaker_mismatch_limit'],
    ];
    for (const [index, [voice, text, code]] of impostors.entries()) {
      const outcome = await vocalis.addClip({ identity: owner, audio: fliteWav(voice, text) });
      assert.equal(outcome.kind, 'refused', `${voice} is not the reader`);
      assert.deepEqual(problemCodes(outcome), [code]);
      if (index < 2) {
        assert.equal(vocalis.status(owner).sample.clips, 2, 'a refused clip is not stored');
        assert.equal(userFiles(f, userId).length, filesBefore, 'nor written to disk');
      }
    }
    const mismatches = ledger.events({ subject: userId, type: 'consent.speaker_mismatch' });
    assert.equal(mismatches.length, 3, 'each mismatch is counted in the ledger');
    for (const event of mismatches) assert.deepEqual(Object.keys(event.data).sort(), ['consentId', 'limit', 'mismatches', 'score', 'threshold']);
    // Three mismatches ended the offer: nothing of it is left, and a new /clone starts over.
    assert.equal(vocalis.status(owner).consent, null);
    assert.equal(f.runtime.consents.store.latest(userId)?.state, 'expired');
    assert.deepEqual(userFiles(f, userId), []);
    const again = vocalis.offerConsent({ identity: owner, language: 'en', context });
    assert.notEqual(again.consent.challenge, challenge, 'a new offer has a new phrase');
  } finally {
    await f.close();
  }
});

test("a reading of an expired or another user's phrase is refused with the words not heard, nothing is kept, and a retry passes", async () => {
  const f = await verifying();
  try {
    const { vocalis, ledger } = f.runtime;
    const first = vocalis.offerConsent({ identity: owner, language: 'en', context });
    const { offer } = granted(f); // replaces the first offer: its phrase died with it
    const other = vocalis.offerConsent({ identity: { platform: 'telegram', platformUserId: '2002' }, language: 'en', context });
    const userId = vocalis.identify(owner).id;

    for (const stale of [first.consent.challenge, other.consent.challenge]) {
      const outcome = await vocalis.addClip({ identity: owner, audio: fliteWav('slt', statement(stale)) });
      assert.equal(outcome.kind, 'refused');
      assert.deepEqual(problemCodes(outcome), ['reading_not_heard']);
      const missing = outcome.verdict.problems[0] && 'words' in outcome.verdict.problems[0] ? (outcome.verdict.problems[0].words ?? []) : [];
      const live = offer.consent.challenge.split(' ').filter((w) => !stale.split(' ').includes(w));
      // The user is told which words were missing: words of the live phrase (the recogniser may
      // mistake a stray sound for one of them, so not necessarily every one) and nothing else.
      assert.ok(live.filter((w) => missing.includes(w)).length >= 2, `the live phrase's words are named as not heard: ${missing.join(', ')}`);
      const expected = new Set([
        ...statement('')
          .toLowerCase()
          .split(/[^a-z]+/),
        ...offer.consent.challenge.split(' '),
      ]);
      for (const word of missing) assert.ok(expected.has(word), `"${word}" is a word of the statement or the live phrase`);
      assert.equal(vocalis.status(owner).sample.clips, 0);
      assert.deepEqual(userFiles(f, userId), [], 'nothing of a failed reading is on disk');
    }
    const failures = ledger.events({ subject: userId, type: 'consent.reading_failed' });
    assert.equal(failures.length, 2);
    assert.equal(vocalis.status(owner).verification?.status, 'awaiting_reading');

    const retry = await vocalis.addClip({ identity: owner, audio: fliteWav('slt', statement(offer.consent.challenge)) });
    assert.equal(retry.kind, 'stored', `the retry with the live phrase passes: ${problemCodes(retry).join(', ')}`);
    assert.equal(vocalis.status(owner).verification?.status, 'verified');
  } finally {
    await f.close();
  }
});

test('a script without the statement, silence, music, a 3-hour file and corrupt files are each refused with their own reason; nothing is kept', async () => {
  const f = await verifying();
  try {
    const { offer } = granted(f);
    const { vocalis } = f.runtime;
    const userId = vocalis.identify(owner).id;
    const challenge = offer.consent.challenge;

    const noStatement = await vocalis.addClip({ identity: owner, audio: fliteWav('slt', script(challenge, 1, 3)) });
    assert.deepEqual(problemCodes(noStatement), ['reading_not_heard'], 'the first audio must be the statement');
    // Silence and music are refused by the audio pipeline, each with its reason, before the recogniser is asked.
    for (const [what, source, reason] of [
      ['silence', 'anullsrc=r=16000:cl=mono', 'silent'],
      ['music', MUSIC_SOURCE, 'mostly_non_speech'],
    ] as const) {
      const outcome = await vocalis.addClip({ identity: owner, audio: lavfiWav(source, 8) });
      assert.equal(outcome.kind, 'refused');
      assert.equal(problemCodes(outcome)[0], reason, `${what}: ${problemCodes(outcome).join(', ')}`);
      assert.ok(!problemCodes(outcome).includes('reading_not_heard'), `${what} is not judged as a reading`);
    }
    assert.equal(f.runtime.ledger.events({ subject: userId, type: 'consent.reading_failed' }).length, 1, 'only the script counted as a failed reading');
    await assert.rejects(vocalis.addClip({ identity: owner, audio: threeHourFlac() }), { code: 'too_long' });
    const wav = fliteWav('slt', statement(challenge));
    const noHeader = new Uint8Array(wav);
    noHeader.fill(0x5a, 0, 64); // header destroyed
    await assert.rejects(vocalis.addClip({ identity: owner, audio: noHeader }), { code: 'not_audio' });
    await assert.rejects(vocalis.addClip({ identity: owner, audio: wav.subarray(0, 30) }), { code: 'truncated' });
    const brokenOgg = new Uint8Array(wav.length);
    brokenOgg.set(new TextEncoder().encode('OggS')); // an Ogg page signature, then nothing valid
    await assert.rejects(vocalis.addClip({ identity: owner, audio: brokenOgg }), { code: 'corrupt' });
    await assert.rejects(vocalis.addClip({ identity: owner, audio: new Uint8Array(0) }), { code: 'empty' });

    assert.equal(vocalis.status(owner).sample.clips, 0);
    assert.deepEqual(userFiles(f, userId), []);
    assert.equal(vocalis.status(owner).verification?.status, 'awaiting_reading');
  } finally {
    await f.close();
  }
});

test('after the reading, silence and music are refused (silent, not speech) and never count toward the mismatches that end a consent', async () => {
  const f = await verifying();
  try {
    const { offer } = granted(f);
    const { vocalis, ledger } = f.runtime;
    const userId = vocalis.identify(owner).id;
    const reading = await vocalis.addClip({ identity: owner, audio: fliteWav('slt', statement(offer.consent.challenge)) });
    assert.equal(reading.kind, 'stored', `the reading is taken: ${problemCodes(reading).join(', ')}`);
    const filesBefore = userFiles(f, userId);
    // More than the three that would end the consent if they counted as another voice.
    for (const source of [MUSIC_SOURCE, 'anullsrc=r=16000:cl=mono', MUSIC_SOURCE, 'anullsrc=r=16000:cl=mono']) {
      const outcome = await vocalis.addClip({ identity: owner, audio: lavfiWav(source, 8) });
      assert.equal(outcome.kind, 'refused');
      assert.equal(problemCodes(outcome)[0], source === MUSIC_SOURCE ? 'mostly_non_speech' : 'silent', problemCodes(outcome).join(', '));
      assert.ok(!problemCodes(outcome).some((code) => code.startsWith('speaker_mismatch')));
    }
    assert.deepEqual(ledger.events({ subject: userId, type: 'consent.speaker_mismatch' }), []);
    assert.deepEqual(userFiles(f, userId), filesBefore, 'nothing of them is kept');
    assert.equal(vocalis.status(owner).sample.clips, 1);
    const own = await vocalis.addClip({ identity: owner, audio: fliteWav('slt', script(offer.consent.challenge, 1, 4)) });
    assert.equal(own.kind, 'stored', 'the consent is still open to the reader');
  } finally {
    await f.close();
  }
});

test('verification off is explicit: clips are taken without a reading, and the receipt and the ledger say it was off', async () => {
  const f = await startRuntime({
    backends: [createToneBackend({ targetSpeechSeconds: 60 })],
    needs: { queue: false },
    env: { VOCALIS_CONSENT_VERIFICATION: 'off' },
  });
  try {
    const { offer, receipt } = granted(f);
    assert.equal(receipt.verification, 'off');
    const { vocalis, ledger } = f.runtime;
    const outcome = await vocalis.addClip({ identity: owner, audio: fliteWav('rms', script(offer.consent.challenge, 1, 3)) });
    assert.equal(outcome.kind, 'stored');
    assert.equal(vocalis.status(owner).verification?.status, 'off');
    const grant = ledger.events({ subject: vocalis.identify(owner).id, type: 'consent.granted' })[0];
    assert.equal(grant?.data['verification'], 'off');
  } finally {
    await f.close();
  }
});

/** Three hours of silence as FLAC: small to send, long once decoded. */
function threeHourFlac(): Uint8Array {
  return lavfiWavAs('anullsrc=r=8000:cl=mono', 3 * 3600, 'flac');
}

function lavfiWavAs(source: string, seconds: number, format: string): Uint8Array {
  return new Uint8Array(
    execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', source, '-t', String(seconds), '-f', format, 'pipe:1'], { maxBuffer: 64 * 1024 * 1024 }),
  );
}

import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeOggOpus } from '../../src/engine/audio/opus-frames.ts';
import { createFliteBackend } from '../support/flite-backend.ts';
import { startRuntime } from '../support/runtime-fixture.ts';
import { runNode } from '../support/spawn-node.ts';
import { readShared, sharedFile } from '../support/speech-data.ts';

/**
 * `vocalis mark check FILE` as an operator runs it, in its own process on the service's
 * data directory: a voice note the service made names its owner; a recording of a
 * person finds no mark; the same clip under another deployment's master key finds none.
 */
test('vocalis mark check: whose synthetic voice, no mark in a recording, nothing under another key', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vocalis-mark-'));
  const masterKey = randomBytes(32).toString('hex');
  const owner = { platform: 'telegram', platformUserId: '777' };
  const clip = join(dataDir, 'note.ogg');
  const rt = await startRuntime({ backends: [createFliteBackend()], needs: { queue: false }, dataDir, env: { VOCALIS_MASTER_KEY: masterKey } });
  try {
    const { vocalis } = rt.runtime;
    const context = { platform: 'telegram', contextId: '777' };
    const offer = vocalis.offerConsent({ identity: owner, language: 'en', context });
    vocalis.acceptConsent({ identity: owner, consentId: offer.consent.id });
    await vocalis.addClip({ identity: owner, audio: readShared('allison-prompts/demo-congrats.wav'), cloneWhenComplete: false });
    const speech = vocalis.speak({
      requester: owner,
      context,
      text: 'This note was made by a synthetic voice. It says a few sentences, so that the mark can be read. The end is near. Goodbye.',
    });
    await writeFile(clip, await encodeOggOpus(speech.audio));
  } finally {
    await rt.close();
  }
  const env = { VOCALIS_DATA_DIR: dataDir, VOCALIS_MASTER_KEY: masterKey, VOCALIS_LOG_LEVEL: 'silent', VOCALIS_CONSENT_VERIFICATION: 'off' };
  // Generous: each command is a fresh process that opens the whole runtime on a shared machine.
  const vocalis = (...args: string[]) => runNode(['src/cli/main.ts', ...args], env, 300_000);
  try {
    const json = await vocalis('mark', 'check', clip, '--json');
    assert.equal(json.code, 0, json.stderr);
    const found = JSON.parse(json.stdout) as { status: string; voice: { status: string; owner: { platformUserId: string } } };
    assert.equal(found.status, 'synthetic');
    assert.equal(found.voice.status, 'known');
    assert.equal(found.voice.owner.platformUserId, '777');
    const text = await vocalis('mark', 'check', clip);
    assert.match(text.stdout, /^Synthetic voice made by this Vocalis deployment: the voice of telegram:777, created on \d{4}-\d{2}-\d{2}\./);
    const zh = await vocalis('mark', 'check', clip, '--language', 'zh');
    assert.match(zh.stdout, /合成语音/);

    const human = await vocalis('mark', 'check', sharedFile('allison-prompts/demo-congrats.wav'));
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^No Vocalis mark found\./);

    assert.equal((await vocalis('mark', 'check')).code, 2, 'a FILE is required');
    assert.equal((await vocalis('mark', 'check', join(dataDir, 'missing.ogg'))).code, 2);

    const other = await mkdtemp(join(tmpdir(), 'vocalis-mark-other-'));
    try {
      const foreign = await runNode(
        ['src/cli/main.ts', 'mark', 'check', clip, '--json'],
        { ...env, VOCALIS_DATA_DIR: other, VOCALIS_MASTER_KEY: randomBytes(32).toString('hex') },
        300_000,
      );
      assert.equal(foreign.code, 0, foreign.stderr);
      assert.deepEqual(JSON.parse(foreign.stdout), { status: 'no_mark' }, "another deployment cannot read this one's mark");
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

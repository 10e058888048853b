import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRuntime, eventually } from '../support/runtime-fixture.ts';
import { runNode } from '../support/spawn-node.ts';
import { speakerFiles } from '../support/speech-data.ts';
import { stallingAfterFirstChunk } from '../support/stalling-backend.ts';
import { createToneBackend } from '../support/tone-backend.ts';

const everywhere = { platform: 'cli', contextId: '*' };

/**
 * The operator revokes with the `vocalis` CLI, a separate process on the same data
 * directory, while the service streams. The service gets no in-process abort: only the
 * ticket's timer, at its default interval, can notice. The backend stalls between
 * chunks (honouring its signal), so no per-chunk check runs in the window either.
 */
test('a revocation from another process stops a running stream within a second, at the default interval', async () => {
  let stalled = (): void => {};
  const stalling = new Promise<void>((resolve) => (stalled = resolve));
  const f = await startRuntime({
    backends: [stallingAfterFirstChunk(createToneBackend(), 30_000, () => stalled())],
    needs: { queue: false },
    env: { VOCALIS_CONSENT_VERIFICATION: 'off' },
  });
  const stop = new AbortController();
  try {
    const { vocalis, users, consents } = f.runtime;
    const identity = { platform: 'cli', platformUserId: 'dana' };
    const offer = vocalis.offerConsent({ identity, language: 'en', context: everywhere });
    vocalis.acceptConsent({ identity, consentId: offer.consent.id });
    const clip = await vocalis.addClip({ identity, audio: await readFile(speakerFiles('3005')[0]!), cloneWhenComplete: false });
    assert.equal(clip.kind, 'stored');
    const userId = users.find('cli', 'dana')!.id;

    const speech = vocalis.speak({ requester: identity, context: everywhere, text: 'one two three four five six', signal: stop.signal });
    const iterator = speech.audio[Symbol.asyncIterator]();
    // The engine hands the backend's first chunk on in pieces (the audio mark frames it):
    // play them all, until the next read waits on the stalled backend.
    let next = iterator.next();
    for (let played = 0; ; played++) {
      const step = await Promise.race([next, stalling.then(() => 'stalled' as const)]);
      if (step === 'stalled') {
        assert.ok(played > 0, 'the first chunk plays');
        break;
      }
      assert.equal(step.done, false, 'the stream goes on until the backend stalls');
      next = iterator.next();
    }
    // The stream now stalls inside the backend; watch how it ends.
    const ended = next.then(
      (result) => ({ how: result.done ? 'finished' : 'another chunk', at: performance.now(), error: undefined as unknown }),
      (error: unknown) => ({ how: 'stopped', at: performance.now(), error }),
    );

    const revoke = runNode(['src/cli/main.ts', 'consent', 'revoke', '--user', 'dana', '--json'], {
      VOCALIS_DATA_DIR: f.dataDir,
      VOCALIS_MASTER_KEY: f.masterKey,
      VOCALIS_LOG_LEVEL: 'silent',
    });
    // The moment the other process's transaction is visible here.
    const committedAt = await eventually(
      () => (consents.store.live(userId) === null ? performance.now() : undefined),
      60_000,
      'the CLI to commit the revocation',
    );
    const outcome = await Promise.race([ended, sleep(1500).then(() => ({ how: 'still streaming 1.5 s later', at: Number.NaN, error: undefined as unknown }))]);
    assert.equal(outcome.how, 'stopped', 'the stream ends after a revocation made in another process');
    assert.equal((speech.consentEnded.reason as { code?: unknown }).code, 'no_consent', `stopped by the consent's end, not by ${String(outcome.error)}`);
    assert.ok(outcome.at - committedAt <= 1000, `stopped ${(outcome.at - committedAt).toFixed(0)} ms after the commit; at most 1 s is promised`);

    const cli = await revoke;
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((JSON.parse(cli.stdout) as { receipt: { outcome: string } }).receipt.outcome, 'revoked');
  } finally {
    stop.abort();
    await f.close();
  }
});

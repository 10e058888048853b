// A recording ends as "consent ended" exactly when the core refused a clip with the
// consent gate's denial (however it is wrapped), and as a failure for anything else —
// decided by the error's type (isConsentDenial), not by how its code looks.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { RecordingSession, type RecordingResult } from '../../../src/bots/discord/recording-session.ts';
import { ConsentDeniedError } from '../../../src/consent/consent-errors.ts';
import { VocalisError } from '../../../src/core/user-facing-error.ts';
import { encodeOpusFrames, makeTestPcm } from '../../fakes/discord/opus-fixtures.ts';

/** Records until the first clip is handed to the core, which answers with `refusal`. */
async function endOf(refusal: unknown): Promise<RecordingResult> {
  let push: (packet: Uint8Array) => void = () => {};
  const s = new RecordingSession({
    open: async (onPacket) => {
      push = onPacket;
      return { stop: () => {} };
    },
    submitClip: async () => {
      throw refusal;
    },
    targetSeconds: 60,
    clipPackets: 50,
    timeoutMs: 60_000,
  });
  const ended = new Promise<RecordingResult>((resolve) => s.once('end', resolve));
  await s.start();
  for (const frame of encodeOpusFrames(makeTestPcm(2, 300))) push(frame);
  return ended;
}

test('the gate\'s denial ends the recording as "consent ended", also as the cause of another error', async () => {
  assert.equal((await endOf(new ConsentDeniedError('no_consent', 'revoked'))).reason, 'consent_ended');
  assert.equal((await endOf(new ConsentDeniedError('not_ready', 'consent is revoked'))).reason, 'consent_ended');
  assert.equal((await endOf(new Error('This operation was aborted', { cause: new ConsentDeniedError('no_consent', 'ended') }))).reason, 'consent_ended');
});

test('other refusals end it as an error, even with a code that looks like a denial', async () => {
  assert.equal((await endOf(new VocalisError('sample_complete', 'complete'))).reason, 'error');
  assert.equal((await endOf(Object.assign(new Error('from a library'), { code: 'no_consent' }))).reason, 'error');
});

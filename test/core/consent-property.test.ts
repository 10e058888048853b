import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { startRuntime } from '../support/runtime-fixture.ts';
import { createToneBackend } from '../support/tone-backend.ts';
import { signalDeaf } from '../support/signal-deaf-backend.ts';
import { speakerFiles } from '../support/speech-data.ts';
import { isLive } from '../../src/consent/consent-state.ts';

const everywhere = { platform: 'cli', contextId: '*' };
type Op = 'grant' | 'clip' | 'clone' | 'speak' | 'speakWhileRevoking' | 'revoke';

/**
 * Random interleavings of grant / sample / clone / speak / revoke against the real
 * runtime (SQLite, Redis, the worker running fine-tunes in the background). The
 * invariant: no synthesized chunk is ever delivered unless its owner's consent is live
 * at that moment, and nothing is delivered after a revocation returns. The backend's
 * synthesis ignores its abort signal, so the engine's own per-chunk check is what holds it.
 */
test('no synthesis is ever delivered without an active consent', async () => {
  const f = await startRuntime({ backends: [signalDeaf(createToneBackend({ stepMs: 20, steps: 3, wordMs: 5 }))] });
  const clip = await readFile(speakerFiles('3331')[0]!);
  let run = 0;
  let delivered = 0;
  try {
    const { vocalis, consents, users } = f.runtime;
    const liveFor = (id: string) => {
      const user = users.find('cli', id);
      const consent = user ? consents.store.live(user.id) : null;
      return consent !== null && isLive(consent.state) && consent.state !== 'offered' && consent.state !== 'granted';
    };
    const consume = async (id: string, stopAfter?: () => Promise<void>) => {
      const speech = vocalis.speak({ requester: { platform: 'cli', platformUserId: id }, context: everywhere, text: 'a b c d e f' });
      let n = 0;
      let revoked = false;
      for await (const _chunk of speech.audio) {
        assert.equal(revoked, false, 'a chunk arrived after the revocation returned');
        assert.ok(liveFor(id), 'a chunk arrived without a live consent');
        delivered++;
        if (++n === 1 && stopAfter) {
          await stopAfter();
          revoked = true;
        }
      }
      assert.equal(revoked && n > 1, false, 'the stream went on after the revocation');
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ op: fc.constantFrom<Op>('grant', 'clip', 'clone', 'speak', 'speakWhileRevoking', 'revoke'), who: fc.nat(1) }), {
          minLength: 4,
          maxLength: 14,
        }),
        async (ops) => {
          run++;
          for (const { op, who } of ops) {
            const id = `r${run}-u${who}`;
            const identity = { platform: 'cli', platformUserId: id };
            try {
              switch (op) {
                case 'grant': {
                  const offer = vocalis.offerConsent({ identity, language: 'en', context: everywhere });
                  vocalis.acceptConsent({ identity, consentId: offer.consent.id });
                  break;
                }
                case 'clip':
                  await vocalis.addClip({ identity, audio: clip, cloneWhenComplete: false });
                  break;
                case 'clone':
                  await vocalis.startClone({ identity });
                  break;
                case 'speak':
                  await consume(id);
                  break;
                case 'speakWhileRevoking':
                  await consume(id, async () => {
                    await vocalis.revoke({ target: identity, actor: { kind: 'operator' } });
                  });
                  break;
                case 'revoke':
                  await vocalis.revoke({ target: identity, actor: { kind: 'operator' } });
                  break;
              }
            } catch (error) {
              // Refusals are expected; anything without a code is a bug.
              if (error instanceof assert.AssertionError) throw error;
              assert.equal(typeof (error as { code?: unknown }).code, 'string', `uncoded error: ${String(error)}`);
            }
          }
        },
      ),
      {
        numRuns: 16,
        // Always include one interleaving that certainly synthesizes and revokes mid-stream,
        // so the invariant is exercised whatever the random draws are.
        examples: [
          [
            [
              { op: 'grant', who: 0 },
              { op: 'clip', who: 0 },
              { op: 'speak', who: 0 },
              { op: 'clone', who: 0 },
              { op: 'speakWhileRevoking', who: 0 },
              { op: 'speak', who: 0 },
              { op: 'grant', who: 1 },
              { op: 'speak', who: 1 },
            ],
          ],
        ],
      },
    );
    assert.ok(delivered > 0, 'the property exercised real synthesis');
  } finally {
    await f.close();
  }
});

import { testMarks } from '../support/test-marks.ts';
import { test } from 'vitest';
import { TEST_DIALECT } from '../support/test-database.ts';
import assert from 'node:assert/strict';
import type { VoiceFiles } from '../../src/engine/backend.ts';
import { BackendRegistry } from '../../src/engine/registry.ts';
import { SpeechEngine } from '../../src/engine/speech-engine.ts';
import { VoiceCache } from '../../src/engine/voice-cache.ts';
import { consentFixture, type ConsentFixture } from '../support/consent-fixture.ts';
import { signalDeaf } from '../support/signal-deaf-backend.ts';
import { createToneBackend } from '../support/tone-backend.ts';

/**
 * The engine re-checks the consent before every chunk leaves it. These streams run on
 * a backend that never looks at its abort signal and produces chunks without pausing
 * (so the ticket's timer never gets a turn): nothing but the engine's own per-chunk
 * check stands between a revocation and the next chunk.
 */

function memoryFiles(entries: Record<string, unknown>): VoiceFiles {
  const files = new Map(Object.entries(entries).map(([name, value]) => [name, Buffer.from(JSON.stringify(value))]));
  return {
    write: async (name, data) => void files.set(name, Buffer.from(data)),
    read: async (name) => files.get(name) ?? Promise.reject(new Error(`no ${name}`)),
    has: async (name) => files.has(name),
  };
}

function speakingVoice(): { f: ConsentFixture; engine: SpeechEngine; consentId: string; userId: string; speak: () => ReturnType<SpeechEngine['stream']> } {
  const f = consentFixture();
  const user = f.users.resolve('cli', 'owner');
  const offer = f.consents.offer({ userId: user.id, language: 'en', scope: { platform: 'cli', context: '*', speakers: { mode: 'owner' } }, actor: 'test' });
  f.consents.accept(offer.consent.id, 'test');
  f.consents.sampleCollected(offer.consent.id);
  const backend = signalDeaf(createToneBackend());
  const engine = new SpeechEngine({
    backends: new BackendRegistry([backend], 'tone'),
    cache: new VoiceCache(1 << 20),
    filesFor: () => memoryFiles({ 'tone.json': { frequency: 220 } }),
    marks: testMarks(),
  });
  const speak = () => {
    const ticket = f.gate.authorize({
      purpose: 'speak',
      ownerUserId: user.id,
      requester: { platform: 'cli', platformUserId: 'owner' },
      context: { platform: 'cli', contextId: '*' },
      text: 'one two three four five six seven eight',
    });
    return engine.stream(
      { userId: user.id, voiceId: 'v_test', version: 1, backend: 'tone' },
      { text: 'one two three four five six seven eight', language: 'en', speed: 1, variability: 0 },
      ticket,
    );
  };
  return { f, engine, consentId: offer.consent.id, userId: user.id, speak };
}

// On PostgreSQL the per-chunk check reads the ticket's cached answer by design; a revocation in a
// process that cannot announce it is caught by the ticket's timer, and one that can reaches it
// through Redis (test/storage/postgres/gate-cache-across-processes.test.ts).
test.skipIf(TEST_DIALECT === 'postgres')(
  'a revocation that aborts nothing in this process (another process revoked) stops the stream before its next chunk',
  async () => {
    const { f, engine, consentId, speak } = speakingVoice();
    const other = f.anotherProcess();
    try {
      let delivered = 0;
      await assert.rejects(
        async () => {
          for await (const _chunk of speak()) {
            delivered++;
            // Only the database changes, through another connection: no gate.abortAll and no announcement
            // reach this process, as when another process revokes.
            if (delivered === 2) other.consents.end(consentId, 'revoked', 'revoked elsewhere', 'operator');
          }
        },
        { code: 'no_consent' },
      );
      assert.equal(delivered, 2, 'no chunk left the engine after the revocation was committed');
      assert.equal(engine.activeStreams, 0);
      assert.equal(f.gate.activeTickets, 0, 'the ticket was released');
    } finally {
      other.close();
      f.close();
    }
  },
);

test('an in-process abort stops a backend that ignores its signal before the next chunk', async () => {
  const { f, speak, userId } = speakingVoice();
  try {
    let delivered = 0;
    await assert.rejects(
      async () => {
        for await (const _chunk of speak()) {
          delivered++;
          // The consent is still live in the database: only the ticket's signal says stop.
          if (delivered === 3) assert.equal(f.gate.abortAll(userId, 'consent revoked'), 1);
        }
      },
      { code: 'no_consent' },
    );
    assert.equal(delivered, 3, 'no chunk left the engine after the abort');
  } finally {
    f.close();
  }
});

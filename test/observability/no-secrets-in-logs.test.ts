import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/observability/logger.ts';
import { startRuntime, eventually } from '../support/runtime-fixture.ts';
import { createToneBackend } from '../support/tone-backend.ts';
import { speakerFiles } from '../support/speech-data.ts';

test('a whole flow at trace level logs no message text, audio, token or key', async () => {
  const sink = new PassThrough();
  let logged = '';
  sink.on('data', (d: Buffer) => (logged += d.toString()));
  const logger = createLogger({ level: 'trace', destination: sink });
  const secretText = 'zebra-umbrella-secret-sentence';
  let challenge = '';
  const f = await startRuntime({
    logger,
    backends: [createToneBackend({ failAttempts: [1] })],
    env: { DISCORD_TOKEN: 'discord-token-must-not-leak', VOCALIS_CONSENT_VERIFICATION: 'off' },
  });
  try {
    const { vocalis, jobs } = f.runtime;
    const identity = { platform: 'cli', platformUserId: 'logcheck' };
    const offer = vocalis.offerConsent({ identity, language: 'en', context: { platform: 'cli', contextId: '*' } });
    vocalis.acceptConsent({ identity, consentId: offer.consent.id });
    challenge = offer.consent.challenge;
    const audio = await readFile(speakerFiles('3005')[0]!);
    const outcome = await vocalis.addClip({ identity, audio });
    const jobId = outcome.kind === 'stored' ? outcome.clone?.jobId : undefined;
    await eventually(() => jobs.get(jobId!)?.state === 'completed', 15_000, 'fine-tune');
    for await (const _ of vocalis.speak({ requester: identity, context: { platform: 'cli', contextId: '*' }, text: `hello ${secretText}` }).audio) {
      /* consume */
    }
    await vocalis.revoke({ target: identity, actor: { kind: 'operator' } });
  } finally {
    await f.close();
  }
  logger.flush();
  assert.doesNotMatch(logged, new RegExp(secretText), 'message text never reaches the logs');
  assert.doesNotMatch(logged, /discord-token-must-not-leak/);
  assert.doesNotMatch(logged, new RegExp(f.masterKey));
  assert.doesNotMatch(logged, new RegExp(challenge));
  assert.match(logged, /fine-tune attempt failed/, 'the failed attempt was logged by the runtime itself');
});

/** The second line of defence, on its own: fields with these names never reach the output. */
test('the logger redacts fields named text, token, audio, caption, url and password', () => {
  const sink = new PassThrough();
  let logged = '';
  sink.on('data', (d: Buffer) => (logged += d.toString()));
  const logger = createLogger({ level: 'trace', destination: sink });
  logger.info(
    {
      text: 'spoken-words',
      token: 'bot-token',
      audio: 'pcm-bytes',
      caption: 'a-caption',
      url: 'https://x/bot-token',
      password: 'pw',
      nested: { text: 'inner-words' },
    },
    'fields',
  );
  logger.flush();
  for (const secret of ['spoken-words', 'bot-token', 'pcm-bytes', 'a-caption', 'pw"', 'inner-words'])
    assert.equal(logged.includes(secret), false, `${secret} was logged`);
  assert.equal(logged.match(/\[redacted\]/g)?.length, 7);
});

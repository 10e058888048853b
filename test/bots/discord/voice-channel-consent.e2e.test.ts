// Discord /clone in a VOICE CHANNEL with consent verification on (`required`): after Agree the
// member reads the consent statement with the live phrase into the channel (a flite voice,
// through the fake voice server), then the script. The statement is longer than a clip, so it
// is judged as one piece, cut at the member's pause; the clone proceeds. Another phrase read
// instead is refused with the words not heard, and nothing of it is kept.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { startDiscordAdapter, type DiscordAdapter } from '../../../src/bots/discord/discord-adapter.ts';
import { createChallenge } from '../../../src/consent/challenge.ts';
import { readingScript } from '../../../src/consent/reading-script.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { startFakeDiscord, type FakeDiscord, type FakeUser } from '../../fakes/discord/index.ts';
import { eventually, startRuntime, type RuntimeFixture } from '../../support/runtime-fixture.ts';
import { createToneBackend } from '../../support/tone-backend.ts';
import { contentOf, waitForEdit } from './harness.ts';
import { fliteFrames } from './member-audio.ts';

let fixture: RuntimeFixture;
let discord: FakeDiscord;
let adapter: DiscordAdapter;
/** Script clips of 5 s: the statement (about 8 s read by flite) does not fit in one. */
const CLIP_PACKETS = 250;

beforeAll(async () => {
  fixture = await startRuntime({ backends: [createToneBackend({ targetSpeechSeconds: 15 })], env: { VOCALIS_CONSENT_VERIFICATION: 'required' } });
  discord = await startFakeDiscord();
  adapter = await startDiscordAdapter({
    config: { token: discord.token, applicationId: discord.applicationId, guildId: discord.guild.id, adminRole: undefined, streamLeadMs: 300 },
    vocalis: fixture.runtime.vocalis,
    logger: createLogger({ level: 'silent' }),
    restApi: discord.restUrl,
    tuning: { progressEveryMs: 500, clipPackets: CLIP_PACKETS, jobWatchMs: 100, idleLeaveMs: 30_000, speakLimit: { capacity: 30, perMinute: 60 } },
  });
});

afterAll(async () => {
  await adapter.stop();
  await discord.close();
  await fixture.close();
});

/** /clone from the voice channel, Agree, and the bot listening: the Agree interaction's id and the live challenge. */
async function agreeAndListen(member: FakeUser): Promise<{ agreeId: string; challenge: string }> {
  const slash = discord.dispatchInteraction({ kind: 'slash', name: 'clone', userId: member.id });
  await discord.waitForInteractionResponse(slash.id);
  const consent = fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: member.id }).consent!;
  const agree = discord.dispatchInteraction({ kind: 'button', customId: `vocalis:agree:${consent.id}`, userId: member.id });
  await waitForEdit(discord, agree.id, /First read the consent statement/, 15_000);
  await eventually(() => adapter.clone.sessionOf(member.id)?.state.status === 'recording', 10_000, 'recording');
  return { agreeId: agree.id, challenge: consent.challenge };
}

test('required mode in a voice channel: the statement with the live phrase, read past the clip length, then the script — the clone proceeds', async () => {
  const grace = discord.addMember('grace', { inVoice: true });
  const identity = { platform: 'discord', platformUserId: grace.id };
  const { agreeId, challenge } = await agreeAndListen(grace);
  assert.equal(fixture.runtime.vocalis.status(identity).verification?.status, 'awaiting_reading');
  const script = readingScript('en', challenge).sentences;

  const statement = await fliteFrames('slt', script[0]!);
  assert.ok(statement.length > CLIP_PACKETS, `the statement (${statement.length} frames) is longer than one clip`);
  // The member reads the statement, stops talking (the client's silence frames), and pauses.
  await discord.voice.sendAudio(grace.id, statement, { intervalMs: 10, trailingSilenceFrames: 5 });
  // Generous waits: recognition and speaker scoring share 2 cores with whatever else runs.
  await eventually(() => fixture.runtime.vocalis.status(identity).verification?.status === 'verified', 120_000, 'the reading to be verified');
  await waitForEdit(discord, agreeId, /Consent statement heard/, 30_000);

  await discord.voice.sendAudio(grace.id, await fliteFrames('slt', script.slice(1, 14).join(' ')), { intervalMs: 10, trailingSilenceFrames: 5 });
  const done = await waitForEdit(discord, agreeId, /Your sample is good/, 180_000);
  assert.match(contentOf(done), /Your voice is being trained|queue/i);
  const status = fixture.runtime.vocalis.status(identity);
  const verification = status.verification;
  assert.ok(verification?.status === 'verified', 'verified');
  const heard = verification.reading.words.map((w) => w.word.toLowerCase());
  for (const word of challenge.split(' ')) assert.ok(heard.includes(word), `challenge word "${word}" recognised`);
  assert.ok(verification.clips.length >= 2, `every script clip matched to the reader (${verification.clips.length})`);
  assert.equal(verification.mismatches, 0);
  assert.ok(status.job, 'the fine-tune was queued');
});

test('required mode in a voice channel: another phrase read instead is refused with the words not heard; nothing is kept', async () => {
  const henry = discord.addMember('henry', { inVoice: true });
  const identity = { platform: 'discord', platformUserId: henry.id };
  const { agreeId, challenge } = await agreeAndListen(henry);
  const live = new Set(challenge.split(' '));
  let other = createChallenge('en');
  while (other.split(' ').some((w) => live.has(w))) other = createChallenge('en');
  const wrong = readingScript('en', other).sentences[0]!;

  await discord.voice.sendAudio(henry.id, await fliteFrames('rms', wrong), { intervalMs: 10, trailingSilenceFrames: 5 });
  const refused = await waitForEdit(discord, agreeId, /consent statement was not heard/, 120_000);
  const notHeard = /Not heard: ([^.]*)\./.exec(contentOf(refused))?.[1] ?? '';
  // The statement itself was read in full: what is missing is the live phrase (the recogniser may
  // still spot a word of it by chance in the other phrase, so not necessarily all four).
  assert.ok(
    [...live].some((word) => notHeard.split(', ').includes(word)),
    `the live phrase among the words not heard: "${notHeard}"`,
  );

  const status = fixture.runtime.vocalis.status(identity);
  assert.equal(status.sample.clips, 0, 'nothing of the refused reading was kept');
  assert.ok(status.verification?.status === 'awaiting_reading' && status.verification.failedReadings === 1);
  assert.equal(adapter.clone.sessionOf(henry.id)?.state.status, 'recording', 'the member can simply read again');

  const stop = discord.dispatchInteraction({ kind: 'button', customId: `vocalis:stop:${henry.id}`, userId: henry.id });
  await discord.waitForInteractionResponse(stop.id);
  await eventually(() => adapter.clone.sessionOf(henry.id) === null, 10_000, 'the recording to end');
  assert.equal(fixture.runtime.vocalis.status(identity).sample.clips, 0);
});

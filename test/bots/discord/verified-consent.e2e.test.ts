// Discord /clone with consent verification on (`required`): the first voice message must be the
// consent statement read with the live phrase; a flite voice reads it, then the script; another
// voice's message is refused with the non-accusing message and not kept.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, test } from 'vitest';
import { startDiscordAdapter, type DiscordAdapter } from '../../../src/bots/discord/discord-adapter.ts';
import { readingScript } from '../../../src/consent/reading-script.ts';
import { decodeAudio } from '../../../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../../../src/engine/audio/opus-frames.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { MessageFlags, OptionType, startFakeDiscord, type FakeDiscord, type FakeUser } from '../../fakes/discord/index.ts';
import { eventually, startRuntime, type RuntimeFixture } from '../../support/runtime-fixture.ts';
import { fliteWav, type FliteVoice } from '../../support/spoken-audio.ts';
import { createToneBackend } from '../../support/tone-backend.ts';
import { contentOf, waitForEdit } from './harness.ts';

let fixture: RuntimeFixture;
let discord: FakeDiscord;
let adapter: DiscordAdapter;

beforeAll(async () => {
  fixture = await startRuntime({ backends: [createToneBackend({ targetSpeechSeconds: 25 })], env: { VOCALIS_CONSENT_VERIFICATION: 'required' } });
  discord = await startFakeDiscord();
  adapter = await startDiscordAdapter({
    config: { token: discord.token, applicationId: discord.applicationId, guildId: discord.guild.id, adminRole: undefined, streamLeadMs: 300 },
    vocalis: fixture.runtime.vocalis,
    logger: createLogger({ level: 'silent' }),
    restApi: discord.restUrl,
    tuning: { progressEveryMs: 500, clipPackets: 250, jobWatchMs: 100, idleLeaveMs: 5_000, speakLimit: { capacity: 30, perMinute: 60 } },
  });
});

afterAll(async () => {
  await adapter.stop();
  await discord.close();
  await fixture.close();
});

function buttonIds(record: { data: Record<string, unknown> | undefined }): string[] {
  const rows = (record.data?.['components'] ?? []) as Array<{ components?: Array<{ custom_id?: string }> }>;
  return rows.flatMap((row) => (row.components ?? []).map((c) => c.custom_id ?? ''));
}

async function voiceMessage(member: FakeUser, voice: FliteVoice, text: string): Promise<void> {
  const pcm = await decodeAudio(fliteWav(voice, text), { sampleRate: 48_000 });
  const ogg = await encodeOggOpus({ samples: pcm.samples, sampleRate: 48_000 });
  discord.dispatchMessage({
    authorId: member.id,
    attachments: [{ filename: 'voice-message.ogg', data: Buffer.from(ogg), contentType: 'audio/ogg', durationSecs: pcm.samples.length / 48_000 }],
    flags: MessageFlags.IsVoiceMessage,
  });
}

test('voice messages: the statement with the live phrase, then the script; another voice is refused and not kept', async () => {
  const grace = discord.addMember('grace');
  const identity = { platform: 'discord', platformUserId: grace.id };
  const slash = discord.dispatchInteraction({
    kind: 'slash',
    name: 'clone',
    userId: grace.id,
    options: [{ name: 'source', type: OptionType.String, value: 'upload' }],
  });
  const offer = await discord.waitForInteractionResponse(slash.id);
  const agreeId = buttonIds(offer).find((id) => id.startsWith('vocalis:agree:'))!;
  const agree = discord.dispatchInteraction({ kind: 'button', customId: agreeId, userId: grace.id });
  await waitForEdit(discord, agree.id, /Send a Discord voice message/);
  const consent = fixture.runtime.vocalis.status(identity).consent!;
  assert.equal(fixture.runtime.vocalis.status(identity).verification?.status, 'awaiting_reading');
  const script = readingScript('en', consent.challenge).sentences;

  await voiceMessage(grace, 'slt', script.slice(1, 4).join(' '));
  const early = await waitForEdit(discord, agree.id, /consent statement was not heard/, 30_000);
  assert.match(contentOf(early), /Not heard: /);

  await voiceMessage(grace, 'slt', script[0]!);
  await eventually(() => fixture.runtime.vocalis.status(identity).verification?.status === 'verified', 30_000, 'the reading to be verified');

  await voiceMessage(grace, 'rms', script.slice(4, 8).join(' '));
  const refused = await waitForEdit(discord, agree.id, /does not sound like the person who read the consent statement/, 30_000);
  assert.match(contentOf(refused), /\(1 of 3\)/);
  assert.equal(fixture.runtime.vocalis.status(identity).sample.clips, 1, 'the other voice was not kept');

  await voiceMessage(grace, 'slt', script.slice(1, 13).join(' '));
  await waitForEdit(discord, agree.id, /Your sample is good/, 30_000);
  const verification = fixture.runtime.vocalis.status(identity).verification;
  assert.ok(verification?.status === 'verified' && verification.clips.length === 1 && verification.mismatches === 1);
});

// Discord's clocks on interactions, enforced by the fake: the first response within 3 s,
// the token for edits and follow-ups for 15 minutes (shortened here). Slow commands defer,
// a stale command gets an answer, and a fine-tune that outlives the token still reaches
// its member — by DM, or in the channel when their DMs are closed.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { encodeOggOpus } from '../../../src/engine/audio/opus-frames.ts';
import { encodeWav } from '../../../src/engine/audio/wav.ts';
import { decodeAudioFile } from '../../../src/engine/audio/decode.ts';
import { InteractionCallbackType, MessageFlags, OptionType, type FakeUser } from '../../fakes/discord/index.ts';
import { speakerFiles } from '../../support/speech-data.ts';
import { createToneBackend } from '../../support/tone-backend.ts';
import { contentOf, startHarness, waitForEdit, type Harness } from './harness.ts';

async function giveVoice(h: Harness, member: FakeUser): Promise<void> {
  const vocalis = h.fixture.runtime.vocalis;
  const identity = { platform: 'discord', platformUserId: member.id };
  const offer = vocalis.offerConsent({ identity, language: 'en', context: { platform: 'discord', contextId: h.discord.guild.id } });
  vocalis.acceptConsent({ identity, consentId: offer.consent.id });
  for (const file of speakerFiles('3005').slice(0, 3)) {
    const pcm = await decodeAudioFile(file, { sampleRate: 16000 });
    const outcome = await vocalis.addClip({ identity, audio: encodeWav(pcm), cloneWhenComplete: false });
    if (outcome.kind === 'stored' && outcome.complete) break;
  }
}

test('slow revocations defer within 3 s and then show the receipt; a stale command gets an answer', async () => {
  // Revocation waits 3.5 s first, as when it must wait for a running fine-tune to stop.
  const h = await startHarness({ revokeDelayMs: 3_500 });
  try {
    const { discord } = h;
    const dave = discord.addMember('dave', { inVoice: true });
    const erin = discord.addMember('erin', { inVoice: true });
    await giveVoice(h, dave);
    await giveVoice(h, erin);

    const del = discord.dispatchInteraction({ kind: 'slash', name: 'voice', userId: dave.id, options: [{ name: 'delete', type: OptionType.Subcommand }] });
    const first = await discord.waitForInteractionResponse(del.id, 5_000);
    assert.equal(first.type, InteractionCallbackType.DeferredChannelMessageWithSource, '/voice delete defers first');
    assert.equal(Number(first.data?.['flags'] ?? 0) & MessageFlags.Ephemeral, MessageFlags.Ephemeral);
    assert.ok(first.at - del.createdAt < 3_000, "within Discord's 3 s");
    assert.match(contentOf(await waitForEdit(discord, del.id, /Consent revoked/, 10_000)), /Deleted: 1 voice/);

    const revoke = discord.dispatchInteraction({
      kind: 'slash',
      name: 'consent',
      userId: discord.guild.ownerId,
      options: [{ name: 'revoke', type: OptionType.Subcommand, options: [{ name: 'member', type: OptionType.User, value: erin.id }] }],
    });
    const answer = await discord.waitForInteractionResponse(revoke.id, 5_000);
    assert.equal(answer.type, InteractionCallbackType.DeferredChannelMessageWithSource, '/consent revoke defers first');
    assert.ok(answer.at - revoke.createdAt < 3_000);
    assert.match(contentOf(await waitForEdit(discord, revoke.id, /Revoked the voice of/, 10_000)), /Deleted: 1 voice/);

    // A command the bot no longer has (a stale registration in a member's client).
    const stale = discord.dispatchInteraction({ kind: 'slash', name: 'karaoke', userId: dave.id });
    const staleAnswer = await discord.waitForInteractionResponse(stale.id, 5_000);
    assert.match(contentOf(staleAnswer), /do not know this command/);
    assert.equal(Number(staleAnswer.data?.['flags'] ?? 0) & MessageFlags.Ephemeral, MessageFlags.Ephemeral);
  } finally {
    await h.close();
  }
});

test('a fine-tune that outlives the interaction token: progress and "ready" reach the member in the channel when their DMs are closed', async () => {
  const h = await startHarness({
    backend: createToneBackend({ targetSpeechSeconds: 8, steps: 4, stepMs: 1_000 }),
    fake: { interactionDeadlines: { tokenLifetimeMs: 2_500 } },
  });
  try {
    const { discord } = h;
    const hana = discord.addMember('hana');
    discord.closeDms(hana.id);
    const slash = discord.dispatchInteraction({
      kind: 'slash',
      name: 'clone',
      userId: hana.id,
      options: [{ name: 'source', type: OptionType.String, value: 'upload' }],
    });
    const offer = await discord.waitForInteractionResponse(slash.id);
    const components = JSON.stringify(offer.data?.['components'] ?? []);
    const agreeId = /vocalis:agree:[\w-]+/.exec(components)?.[0];
    assert.ok(agreeId);
    const agree = discord.dispatchInteraction({ kind: 'button', customId: agreeId, userId: hana.id });
    await waitForEdit(discord, agree.id, /Send a Discord voice message/);

    const pcm = await decodeAudioFile(speakerFiles('1688')[0]!, { sampleRate: 48000 });
    let samples = pcm.samples;
    for (const file of speakerFiles('1688').slice(1)) {
      if (samples.length >= 14 * 48000) break;
      const more = await decodeAudioFile(file, { sampleRate: 48000 });
      const joined = new Float32Array(samples.length + more.samples.length);
      joined.set(samples);
      joined.set(more.samples, samples.length);
      samples = joined;
    }
    const ogg = await encodeOggOpus({ samples, sampleRate: 48000 });
    // Past the token's life: everything from here on must find another way to the member.
    await new Promise((resolve) => setTimeout(resolve, 2_600));
    discord.dispatchMessage({
      authorId: hana.id,
      attachments: [{ filename: 'voice-message.ogg', data: Buffer.from(ogg), contentType: 'audio/ogg', durationSecs: samples.length / 48000 }],
      flags: MessageFlags.IsVoiceMessage,
    });

    const inChannel = (pattern: RegExp) =>
      discord.botMessages.waitFor(
        (m) =>
          m.channelId === discord.guild.textChannelId &&
          String(m.body['content'] ?? '').includes(`<@${hana.id}>`) &&
          pattern.test(String(m.body['content'] ?? '')),
        30_000,
      );
    const progress = await inChannel(/Training your voice: training \d+%|being trained/);
    assert.deepEqual((progress.body['allowed_mentions'] as { users?: string[] } | undefined)?.users, [hana.id], 'mentions only the member');
    await inChannel(/Your voice is ready/);
    const dm = [...discord.state.channels.values()].find((c) => c.recipientId === hana.id);
    assert.ok(!dm || ![...discord.messages.messages.values()].some((m) => m.channelId === dm.id), 'nothing reached the closed DMs');
  } finally {
    await h.close();
  }
});

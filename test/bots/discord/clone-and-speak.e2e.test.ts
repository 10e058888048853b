// The whole story on a hermetic Discord: /clone with consent, recording real speech from a
// fake member over voice UDP, the verdict, the fine-tune, the "ready" DM, then /speak streamed
// as Opus into the channel, and an admin revoking the voice mid-utterance.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { decodeAudioFile } from '../../../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../../../src/engine/audio/opus-frames.ts';
import { decodeWav } from '../../../src/engine/audio/wav.ts';
import { isSilenceFrame, MessageFlags, OptionType, type FakeUser, type RecordedFrame } from '../../fakes/discord/index.ts';
import { encodeOpusFrames, makeTestPcm } from '../../fakes/discord/opus-fixtures.ts';
import { eventually } from '../../support/runtime-fixture.ts';
import { speakerFiles } from '../../support/speech-data.ts';
import { contentOf, speechFrames, startHarness, waitForEdit, type Harness } from './harness.ts';

let h: Harness;
let alice: FakeUser;
let bob: FakeUser;
const BOB_TONE_HZ = 1000;

beforeAll(async () => {
  h = await startHarness();
  alice = h.discord.addMember('alice', { inVoice: true });
  bob = h.discord.addMember('bob', { inVoice: true });
});

afterAll(async () => {
  await h.close();
});

/** Share of a signal's energy at one frequency (Goertzel over 20 ms blocks). */
function toneShare(samples: Float32Array, rate: number, hz: number): number {
  const block = Math.round(rate * 0.02);
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let tonePower = 0;
  let total = 0;
  for (let start = 0; start + block <= samples.length; start += block) {
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < block; i++) {
      const x = samples[start + i] ?? 0;
      total += x * x;
      const s0 = x + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    tonePower += (s1 * s1 + s2 * s2 - coeff * s1 * s2) * (2 / block);
  }
  return total > 0 ? tonePower / total : 0;
}

function buttonIds(record: { data: Record<string, unknown> | undefined }): string[] {
  const rows = (record.data?.['components'] ?? []) as Array<{ components?: Array<{ custom_id?: string }> }>;
  return rows.flatMap((row) => (row.components ?? []).map((c) => c.custom_id ?? ''));
}

test('/clone: consent notice, nothing recorded before Agree, only the consenting member recorded, fine-tune, ready DM', async (t) => {
  const { discord } = h;
  assert.deepEqual(
    discord.commands
      .all()
      .map((c) => c.name)
      .sort(),
    ['clone', 'consent', 'speak', 'stop', 'verify', 'voice'],
  );
  assert.ok(
    discord.commands.all().every((c) => c.guildId === discord.guild.id),
    'registered per guild when a guild id is configured',
  );
  const slash = discord.dispatchInteraction({ kind: 'slash', name: 'clone', userId: alice.id });
  const offer = await discord.waitForInteractionResponse(slash.id);
  assert.equal(offer.type, 4);
  assert.equal(Number(offer.data?.['flags']) & 64, 64, 'the consent notice is ephemeral');
  const embeds = offer.data?.['embeds'] as Array<{ description?: string; fields?: Array<{ value: string }> }>;
  const notice = embeds[0]?.description ?? '';
  for (const part of ['What is recorded', 'Why', 'Who can make it speak', 'Retention', 'How to withdraw']) assert.match(notice, new RegExp(part));
  assert.match(embeds[0]?.fields?.[0]?.value ?? '', /confirmation phrase/);
  assert.match(embeds[1]?.description ?? '', /I am aware that recordings of my voice/);
  const agreeId = buttonIds(offer).find((id) => id.startsWith('vocalis:agree:'));
  assert.ok(agreeId, 'an Agree button');
  assert.ok(
    buttonIds(offer).some((id) => id.startsWith('vocalis:cancel:')),
    'a Cancel button',
  );

  // Before Agree: the bot has not joined, nothing is subscribed, nothing stored.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(discord.botVoiceChannelId(), null);
  assert.equal(discord.voice.activeSession(), undefined);
  assert.equal(h.clips.length, 0);

  const agree = discord.dispatchInteraction({
    kind: 'button',
    customId: agreeId,
    userId: alice.id,
    ...(slash.originalMessage ? { messageId: slash.originalMessage.id } : {}),
  });
  const granted = await discord.waitForInteractionResponse(agree.id);
  assert.equal(granted.type, 7, 'Agree updates the notice in place');
  assert.match(contentOf(granted), /Consent c_\w+ is recorded/);
  await waitForEdit(discord, agree.id, /Recording in the voice channel/);
  await discord.voice.waitForSession();
  assert.equal(discord.botVoiceChannelId(), discord.guild.voiceChannelId);
  const session = await eventually(() => h.adapter.clone.sessionOf(alice.id), 5_000, 'a recording session');
  await eventually(() => session.state.status === 'recording', 10_000, 'recording to start');

  // Alice reads; Bob talks over her (a loud tone) the whole time; the gateway reconnects midway.
  const speech = await speechFrames('3331', 16);
  const aliceFrames = speech.slice(0, 800);
  const bobFrames = encodeOpusFrames(makeTestPcm(aliceFrames.length * 0.02, BOB_TONE_HZ));
  const half = 400;
  await Promise.all([
    discord.voice.sendAudio(alice.id, aliceFrames.slice(0, half), { intervalMs: 10 }),
    discord.voice.sendAudio(bob.id, bobFrames.slice(0, half), { intervalMs: 10 }),
  ]);
  await waitForEdit(discord, agree.id, /\d+ of 8 s — keep reading/, 10_000);
  discord.gateway.forceReconnect();
  await discord.gateway.waitUntilConnected();
  await Promise.all([
    discord.voice.sendAudio(alice.id, aliceFrames.slice(half), { intervalMs: 10 }),
    discord.voice.sendAudio(bob.id, bobFrames.slice(half), { intervalMs: 10 }),
  ]);

  const done = await waitForEdit(discord, agree.id, /Your sample is good/, 30_000);
  assert.match(contentOf(done), /Your voice is being trained/);
  const result = await session.ended;
  assert.equal(result.state, 'done');

  // What entered the sample: only Alice's packets (at most what she sent), none of Bob's tone.
  const clipSeconds = h.clips.map((bytes) => decodeWav(bytes)).map((pcm) => pcm.samples.length / pcm.sampleRate);
  const total = clipSeconds.reduce((a, b) => a + b, 0);
  assert.ok(h.clips.length >= 2, `clips: ${h.clips.length}`);
  assert.ok(total <= aliceFrames.length * 0.02 + 0.05, `sample ${total.toFixed(2)} s from ${aliceFrames.length * 0.02} s sent`);
  let worst = 0;
  for (const bytes of h.clips) {
    const pcm = decodeWav(bytes);
    const share = toneShare(pcm.samples, pcm.sampleRate, BOB_TONE_HZ);
    worst = Math.max(worst, share);
    assert.ok(share < 0.05, `Bob's tone makes up ${(share * 100).toFixed(1)}% of a clip`);
  }
  await t.annotate(
    `clips ${h.clips.length}, ${total.toFixed(2)} s of ${aliceFrames.length * 0.02} s sent; Bob's tone share at most ${(worst * 100).toFixed(2)}%`,
  );
  // The check can fail: Bob's audio itself is almost all tone.
  const bobPcm = makeTestPcm(1, BOB_TONE_HZ).filter((_, i) => i % 2 === 0);
  assert.ok(
    toneShare(
      Float32Array.from(bobPcm, (v) => v / 32768),
      48000,
      BOB_TONE_HZ,
    ) > 0.5,
  );

  // The fine-tune runs in the worker; the user hears about it by DM.
  const dm = discord.openDm(alice.id);
  const ready = await discord.botMessages.waitFor((m) => m.channelId === dm.id && /Your voice is ready/.test(String(m.body['content'] ?? '')), 30_000);
  assert.ok(ready);
  const status = h.fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: alice.id });
  assert.equal(status.consent?.state, 'voice_ready');
  assert.equal(discord.voice.frames().filter((f) => !isSilenceFrame(f.opus)).length, 0, 'the bot played nothing while recording');
});

function audioAfter(frames: readonly RecordedFrame[], startIndex: number): RecordedFrame[] {
  return frames.slice(startIndex);
}

test("/speak: the disclosure is posted and the owner's voice streams as continuous Opus into the channel", async (t) => {
  const { discord } = h;
  const start = discord.voice.frames().length;
  const words = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'hello' : 'everyone')).join(' ');
  const sentAt = process.hrtime.bigint();
  const slash = discord.dispatchInteraction({
    kind: 'slash',
    name: 'speak',
    userId: alice.id,
    options: [{ name: 'text', type: OptionType.String, value: words }],
  });
  const reply = await discord.waitForInteractionResponse(slash.id);
  assert.equal(reply.type, 4);
  assert.equal(Number(reply.data?.['flags'] ?? 0) & 64, 0, 'the disclosure is public');
  assert.match(contentOf(reply), new RegExp(`AI voice of <@${alice.id}>`));

  await discord.voice.waitForFrames(start + 200, { filter: () => true, timeoutMs: 15_000 });
  // Wait for the end of the utterance (the player's 5 trailing silence frames).
  await eventually(
    () => {
      const frames = audioAfter(discord.voice.frames(), start);
      const audio = frames.filter((f) => !isSilenceFrame(f.opus)).length;
      return audio >= 195 && frames.length > audio && isSilenceFrame(frames[frames.length - 1]!.opus);
    },
    15_000,
    'the end of the utterance',
  );
  const frames = audioAfter(discord.voice.frames(), start);
  const stats = discord.voice.analyze(frames);
  assert.ok(stats.audioCount >= 195 && stats.audioCount <= 206, `audio frames ${stats.audioCount} (20 words × 0.2 s = 200)`);
  assert.equal(stats.silenceMidUtterance, 0, 'no silence frames inside the utterance');
  assert.equal(stats.sequenceGaps, 0);
  const first = frames.find((f) => !isSilenceFrame(f.opus))!;
  assert.ok(first.arrivedAtNs > sentAt, 'audio starts only after the request');
  await t.annotate(
    `first audio ${(Number(first.arrivedAtNs - sentAt) / 1e6).toFixed(0)} ms after the interaction; ${stats.audioCount} frames, jitter ${stats.jitterMs.toFixed(2)} ms`,
  );
});

test('an admin revoking the member mid-/speak stops the audio within 1 s and deletes the voice', async (t) => {
  const { discord } = h;
  const start = discord.voice.frames().length;
  const words = Array.from({ length: 60 }, () => 'hello').join(' ');
  const slash = discord.dispatchInteraction({
    kind: 'slash',
    name: 'speak',
    userId: alice.id,
    options: [{ name: 'text', type: OptionType.String, value: words }],
  });
  await discord.waitForInteractionResponse(slash.id);
  await discord.voice.waitForFrames(start + 50, { filter: () => true, timeoutMs: 10_000 });

  const revoke = discord.dispatchInteraction({
    kind: 'slash',
    name: 'consent',
    userId: discord.guild.ownerId,
    options: [{ name: 'revoke', type: OptionType.Subcommand, options: [{ name: 'member', type: OptionType.User, value: alice.id }] }],
  });
  const revokedAt = process.hrtime.bigint();
  // Revocation may wait on a running job: the command defers at once, then shows the receipt.
  const answer = await waitForEdit(discord, revoke.id, new RegExp(`Revoked the voice of <@${alice.id}>`), 5_000);
  assert.ok(answer);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const late = audioAfter(discord.voice.frames(), start).filter((f) => !isSilenceFrame(f.opus) && f.arrivedAtNs > revokedAt + 1_000_000_000n);
  assert.equal(late.length, 0, 'no audio more than 1 s after the revocation');
  const played = audioAfter(discord.voice.frames(), start).filter((f) => !isSilenceFrame(f.opus)).length;
  assert.ok(played < 60 * 10, `stopped early (${played} of 600 frames)`);
  const lastAudio = audioAfter(discord.voice.frames(), start)
    .filter((f) => !isSilenceFrame(f.opus))
    .at(-1);
  await t.annotate(
    `last audio frame ${lastAudio ? (Number(lastAudio.arrivedAtNs - revokedAt) / 1e6).toFixed(0) : '-'} ms after the revoke was sent; ${played} of 600 frames played`,
  );
  await waitForEdit(discord, slash.id, /consent ended/, 5_000);
  assert.equal(h.fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: alice.id }).consent, null);
});

test('/clone from a Discord voice message: consent first, then the voice message is judged and completes the sample', async () => {
  const { discord } = h;
  const frank = discord.addMember('frank');
  const slash = discord.dispatchInteraction({
    kind: 'slash',
    name: 'clone',
    userId: frank.id,
    options: [{ name: 'source', type: OptionType.String, value: 'upload' }],
  });
  const offer = await discord.waitForInteractionResponse(slash.id);
  const agreeId = buttonIds(offer).find((id) => id.startsWith('vocalis:agree:'))!;

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
  // Sent before Agree: ignored, nothing is taken without consent.
  discord.dispatchMessage({
    authorId: frank.id,
    attachments: [{ filename: 'voice-message.ogg', data: Buffer.from(ogg), contentType: 'audio/ogg', durationSecs: samples.length / 48000 }],
    flags: MessageFlags.IsVoiceMessage,
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const clipsBefore = h.clips.length;

  const agree = discord.dispatchInteraction({ kind: 'button', customId: agreeId, userId: frank.id });
  await waitForEdit(discord, agree.id, /Send a Discord voice message/);
  assert.equal(h.clips.length, clipsBefore, 'the voice message sent before Agree was not used');
  discord.dispatchMessage({
    authorId: frank.id,
    attachments: [{ filename: 'voice-message.ogg', data: Buffer.from(ogg), contentType: 'audio/ogg', durationSecs: samples.length / 48000 }],
    flags: MessageFlags.IsVoiceMessage,
  });
  const done = await waitForEdit(discord, agree.id, /Your sample is good/, 20_000);
  assert.match(contentOf(done), /being trained/);
  assert.equal(h.clips.length, clipsBefore + 1);
});

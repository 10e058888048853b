// The Discord adapter through DAVE end-to-end encryption, as Discord requires since March 2026:
// the fake voice server runs the call's MLS group and every member in the call is a DAVE client
// (davey). /clone records a member's E2EE reading (decrypted by the bot's @discordjs/voice), with
// members joining and leaving mid-utterance; /speak is decrypted by the members' clients frame by
// frame, through epoch changes; a corrupted commit makes the library re-initialise mid-recording;
// and an admin revokes the voice mid-/speak. Recorded LibriSpeech speech, verification off.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { decodeWav } from '../../../src/engine/audio/wav.ts';
import { isSilenceFrame, OptionType, type FakeUser, type RecordedFrame } from '../../fakes/discord/index.ts';
import { eventually } from '../../support/runtime-fixture.ts';
import { contentOf, speechFrames, startHarness, startVoiceRecording, waitForEdit, type Harness } from './harness.ts';

let h: Harness;
let alice: FakeUser;
let bob: FakeUser;
let speech: Buffer[];

beforeAll(async () => {
  h = await startHarness();
  alice = h.discord.addMember('alice', { inVoice: true });
  bob = h.discord.addMember('bob', { inVoice: true });
  speech = await speechFrames('3331', 24);
});

afterAll(async () => {
  await h.close();
});

/** Whether the member's /clone session is recording (its state is a status string or a union keyed by status). */

/** /clone, Agree, and the bot recording in the voice channel; returns the Agree interaction id. */
const startClone = (member: FakeUser): Promise<string> => startVoiceRecording(h, member);

function clipSeconds(from = 0): number {
  return h.clips
    .slice(from)
    .map((bytes) => decodeWav(bytes))
    .reduce((sum, pcm) => sum + pcm.samples.length / pcm.sampleRate, 0);
}

function after(start: number): RecordedFrame[] {
  return h.discord.voice.frames().slice(start);
}

test('/clone under DAVE: the reading arrives end-to-end encrypted, is decrypted, judged and stored, while members join and leave mid-utterance', async (t) => {
  const { discord } = h;
  const agreeId = await startClone(alice);
  const dave = await discord.voice.waitForDave(alice.id);
  assert.ok(dave.groupMembers.includes(discord.botUserId) && dave.groupMembers.includes(alice.id), 'the bot and alice share the MLS group');
  const epochBefore = dave.epoch;
  const member = dave.member(alice.id)!;
  const encryptedBefore = member.stats.encrypted;

  // Alice reads 16 s; carol joins after ~3 s and bob leaves after ~6 s: two epoch changes mid-utterance.
  const frames = speech.slice(0, 800);
  const reading = discord.voice.sendAudio(alice.id, frames, { intervalMs: 10 });
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const carol = discord.addMember('carol', { inVoice: true });
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  discord.setMemberVoiceChannel(bob.id, null);
  await reading;

  const readingEnded = Date.now();
  const done = await waitForEdit(discord, agreeId, /Your sample is good/, 30_000);
  assert.match(contentOf(done), /being trained/);
  await discord.voice.waitForDave();
  const changesDuringReading = dave.events.entries.filter((e) => e.type === 'proposals' && e.epoch >= epochBefore && e.at < readingEnded).length;
  assert.equal(changesDuringReading, 2, 'both membership changes began while alice was reading');
  const sentAudio = frames.filter((f) => !isSilenceFrame(f)).length;
  assert.equal(member.stats.encrypted - encryptedBefore, sentAudio, "alice's client end-to-end encrypted every frame she sent");
  assert.ok(dave.epoch >= epochBefore + 2n, `epochs ${epochBefore} → ${dave.epoch}`);
  assert.ok(dave.groupMembers.includes(carol.id) && !dave.groupMembers.includes(bob.id));
  const stored = clipSeconds();
  assert.ok(h.clips.length >= 2, `clips: ${h.clips.length}`);
  assert.ok(stored <= frames.length * 0.02 + 0.05, `sample ${stored.toFixed(2)} s from ${frames.length * 0.02} s sent`);
  const status = h.fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: alice.id });
  assert.ok(status.consent?.state === 'sample_collected' || status.consent?.state === 'voice_ready', `consent ${status.consent?.state}`);
  await t.annotate(
    `epochs ${epochBefore} → ${dave.epoch}, both changes begun during the reading; ${h.clips.length} clips, ${stored.toFixed(2)} s stored of ${frames.length * 0.02} s sent`,
  );

  // The fine-tune runs; the user hears about it by DM, as without DAVE.
  const dm = discord.openDm(alice.id);
  await discord.botMessages.waitFor((m) => m.channelId === dm.id && /Your voice is ready/.test(String(m.body['content'] ?? '')), 30_000);
});

test("/speak under DAVE: the members' clients decrypt every frame, continuous and paced as without DAVE, through a join and a leave mid-utterance", async (t) => {
  const { discord } = h;
  const dave = await discord.voice.waitForDave();
  const epochBefore = dave.epoch;
  const start = discord.voice.frames().length;
  const failuresBefore = discord.voice.server.stats.e2eeFailures;
  const words = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'hello' : 'everyone')).join(' ');
  const slash = discord.dispatchInteraction({
    kind: 'slash',
    name: 'speak',
    userId: alice.id,
    options: [{ name: 'text', type: OptionType.String, value: words }],
  });
  const reply = await discord.waitForInteractionResponse(slash.id);
  assert.match(contentOf(reply), new RegExp(`AI voice of <@${alice.id}>`));

  await discord.voice.waitForFrames(start + 60, { filter: () => true, timeoutMs: 15_000 });
  discord.setMemberVoiceChannel(bob.id, discord.guild.voiceChannelId);
  await discord.voice.waitForDave(bob.id);
  const carol = [...discord.state.members.values()].find((u) => u.username === 'carol')!;
  discord.setMemberVoiceChannel(carol.id, null);
  await eventually(
    () => {
      const frames = after(start);
      const audio = frames.filter((f) => !isSilenceFrame(f.opus)).length;
      return audio >= 195 && frames.length > audio && isSilenceFrame(frames[frames.length - 1]!.opus);
    },
    15_000,
    'the end of the utterance',
  );

  const frames = after(start);
  const stats = discord.voice.analyze(frames);
  const audio = frames.filter((f) => !isSilenceFrame(f.opus));
  assert.ok(stats.audioCount >= 195 && stats.audioCount <= 206, `audio frames ${stats.audioCount} (20 words × 0.2 s = 200)`);
  assert.ok(
    audio.every((f) => f.e2ee === 'decrypted'),
    'every audio frame came end-to-end encrypted and was decrypted',
  );
  assert.equal(discord.voice.server.stats.e2eeFailures, failuresBefore, 'no frame the members could not decrypt');
  assert.equal(stats.silenceMidUtterance, 0, 'no silence frames inside the utterance');
  assert.equal(stats.sequenceGaps, 0);
  assert.ok(dave.epoch >= epochBefore + 2n, `epochs ${epochBefore} → ${dave.epoch}`);
  await t.annotate(
    `${stats.audioCount} frames, all decrypted by the members; epochs ${epochBefore} → ${dave.epoch} mid-utterance; jitter ${stats.jitterMs.toFixed(2)} ms, max interval ${stats.maxIntervalMs.toFixed(1)} ms`,
  );
});

test('a failed transition mid-recording (a corrupted commit): the library answers op 31 and rejoins the group; the recording carries on and completes', async (t) => {
  const { discord } = h;
  const dan = discord.addMember('dan', { inVoice: true });
  const agreeId = await startClone(dan);
  const dave = await discord.voice.waitForDave(dan.id);
  const invalidBefore = dave.stats.invalidCommitWelcomes;
  const clipsBefore = h.clips.length;
  const frames = speech.slice(0, 800);
  const reading = discord.voice.sendAudio(dan.id, frames, { intervalMs: 10 });
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const t0 = Date.now();
  dave.tamperNextToBot = 'commit';
  dave.rekeyMember(bob.id);
  const invalid = await dave.events.waitFor((e) => e.type === 'invalid-commit-welcome' && e.userId === discord.botUserId && e.at >= t0, 5_000);
  await reading;

  const done = await waitForEdit(discord, agreeId, /Your sample is good/, 30_000);
  assert.equal(dave.stats.invalidCommitWelcomes, invalidBefore + 1, 'the library sent op 31 once');
  await discord.voice.waitForDave(dan.id);
  assert.ok(dave.groupMembers.includes(discord.botUserId), 'the bot is back in the group');
  assert.match(contentOf(done), /being trained/);
  const stored = clipSeconds(clipsBefore);
  assert.ok(stored <= frames.length * 0.02 + 0.05, `sample ${stored.toFixed(2)} s`);
  const shown = [
    ...new Set(discord.interactions.webhookCalls.entries.filter((c) => c.interactionId === agreeId).map((c) => contentOf(c).split('\n').at(-1) ?? '')),
  ];
  // Re-admitted: the first transition after the bot's new key package (op 26, sent on re-initialising).
  const events = dave.events.entries;
  const rejoined = events.findIndex((e, i) => i > events.indexOf(invalid) && e.type === 'key-package' && e.userId === discord.botUserId);
  const readmitted = events.find((e, i) => i > rejoined && e.type === 'transition-executed');
  await t.annotate(
    `op 31 ${invalid.at - t0} ms after the corrupted commit was due; the bot back in the group ${readmitted ? readmitted.at - invalid.at : '?'} ms after op 31; ${stored.toFixed(2)} s stored of ${frames.length * 0.02} s sent; what dan was shown: ${shown.join(' | ')}`,
  );
});

test('an admin revoking the member mid-/speak under DAVE stops the audio within 1 s and deletes the voice', async (t) => {
  const { discord } = h;
  await discord.voice.waitForDave();
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
  assert.ok(
    after(start)
      .filter((f) => !isSilenceFrame(f.opus))
      .every((f) => f.e2ee === 'decrypted'),
    'the speech is end-to-end encrypted',
  );

  const revoke = discord.dispatchInteraction({
    kind: 'slash',
    name: 'consent',
    userId: discord.guild.ownerId,
    options: [{ name: 'revoke', type: OptionType.Subcommand, options: [{ name: 'member', type: OptionType.User, value: alice.id }] }],
  });
  const revokedAt = process.hrtime.bigint();
  await waitForEdit(discord, revoke.id, new RegExp(`Revoked the voice of <@${alice.id}>`), 5_000);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const audio = after(start).filter((f) => !isSilenceFrame(f.opus));
  const late = audio.filter((f) => f.arrivedAtNs > revokedAt + 1_000_000_000n);
  assert.equal(late.length, 0, 'no audio more than 1 s after the revocation');
  assert.ok(audio.length < 60 * 10, `stopped early (${audio.length} of 600 frames)`);
  await waitForEdit(discord, slash.id, /consent ended/, 5_000);
  assert.equal(h.fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: alice.id }).consent, null);
  const last = audio.at(-1);
  await t.annotate(
    `last audio frame ${last ? (Number(last.arrivedAtNs - revokedAt) / 1e6).toFixed(0) : '-'} ms after the revoke; ${audio.length} of 600 frames played, all E2EE`,
  );
});

// The receive failures reported against @discordjs/voice under DAVE, reproduced with the fake's
// hooks (test/fakes/discord/voice/dave-session.ts), and what a /clone recording does with them:
// #11445 (plain frames from a member after negotiation fail to decrypt, every one): the member
// is told within seconds and offered the voice-message path; #11441 (frames around an MLS key
// transition that the bot cannot decrypt): they are dropped, never counted as speech, and the
// recording goes on once the keys agree again.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { decodeWav } from '../../../src/engine/audio/wav.ts';
import type { FakeUser } from '../../fakes/discord/index.ts';
import { eventually } from '../../support/runtime-fixture.ts';
import { createToneBackend } from '../../support/tone-backend.ts';
import { contentOf, speechFrames, startHarness, startVoiceRecording, waitForEdit, type Harness } from './harness.ts';

const STALL_MS = 1_500;
let h: Harness;
let opus: Buffer[];

beforeAll(async () => {
  // A 60 s target: what passes before a failure must not complete the sample.
  h = await startHarness({
    tuning: { receiveStallMs: STALL_MS, idleLeaveMs: 60_000, clipPackets: 250 },
    backend: createToneBackend({ targetSpeechSeconds: 60 }),
  });
  opus = await speechFrames('3331', 20);
});

afterAll(async () => {
  await h.close();
});

async function startRecording(member: FakeUser): Promise<string> {
  const agreeId = await startVoiceRecording(h, member);
  await h.discord.voice.waitForDave(member.id, 10_000);
  return agreeId;
}

/** What a recording that ended by leaving judges of `packets` speech frames: 250-frame clips, and a rest of 50 or more. */
function expectedJudged(packets: number): number {
  const rest = packets % 250;
  return (rest >= 50 ? packets : packets - rest) * 0.02;
}

function judgedSeconds(from: number): number {
  return h.clips
    .slice(from)
    .map((bytes) => decodeWav(bytes))
    .reduce((n, pcm) => n + pcm.samples.length / pcm.sampleRate, 0);
}

test('#11445 under DAVE: a member in the group whose frames arrive unencrypted is told within seconds once they stop decrypting, and offered voice messages', async () => {
  const member = h.discord.addMember('plain', { inVoice: true });
  const agreeId = await startRecording(member);
  const clipsBefore = h.clips.length;
  const session = h.adapter.clone.sessionOf(member.id)!;
  const sentAt = Date.now();
  const sending = h.discord.voice.sendAudio(member.id, opus.slice(0, 300), { unencrypted: true, intervalMs: 20 }).catch(() => undefined);
  const told = await waitForEdit(h.discord, agreeId, /cannot receive your audio in the voice channel/, 25_000);
  assert.match(contentOf(told), /Send a Discord voice message in this channel/);
  const result = await session.ended;
  assert.equal(result.reason, 'unreceivable');
  // What passed while passthrough was on is real audio; what was judged is exactly those frames.
  assert.ok(Math.abs(judgedSeconds(clipsBefore) - Math.floor(result.packets / 250) * 5) < 0.01);
  // Frames stop coming through after about result.packets × 20 ms; the member is told STALL_MS (plus a watch tick) later.
  const failedAt = sentAt + result.packets * 20;
  assert.ok(told.at - failedAt < STALL_MS + 3_500, `told ${told.at - failedAt} ms after the last frame came through`);
  console.info(`#11445 reproduction: ${result.packets} plain frames passed (passthrough), then none; told ${told.at - failedAt} ms later`);
  await sending;
});

test('#11441 under DAVE: frames the bot cannot decrypt around a key transition are dropped, not counted, and recording goes on', async () => {
  const member = h.discord.addMember('rekeyed', { inVoice: true });
  await startRecording(member);
  const clipsBefore = h.clips.length;
  const session = h.adapter.clone.sessionOf(member.id)!;
  const dave = h.discord.voice.dave()!;
  const epochBefore = dave.epoch;
  const frames = opus.slice(0, 500);
  const sending = h.discord.voice.sendAudio(member.id, frames, { intervalMs: 20 });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  // The member's client starts over with a new key; the bot hears of it 600 ms late (#11441's window).
  dave.botDeliveryDelayMs = 600;
  dave.rekeyMember(member.id);
  await sending;
  dave.botDeliveryDelayMs = 0;
  await eventually(() => dave.epoch > epochBefore && !dave.changing, 10_000, 'the transition to complete');
  const afterTransition = session.packets;
  assert.ok(afterTransition <= frames.length, `${afterTransition} frames counted of ${frames.length} sent`);
  assert.equal(
    session.state.status,
    'recording',
    `a short transition does not end the recording (${session.state.status === 'failed' ? String(session.state.result.error) : ''})`,
  );
  // After the transition the member's frames decrypt again.
  await h.discord.voice.sendAudio(member.id, opus.slice(500, 600), { intervalMs: 20 });
  await eventually(() => session.packets >= afterTransition + 90, 5_000, 'frames after the transition to be received');
  h.discord.setMemberVoiceChannel(member.id, null);
  const result = await session.ended;
  assert.equal(result.reason, 'left_channel');
  const judged = judgedSeconds(clipsBefore);
  assert.ok(
    Math.abs(judged - expectedJudged(result.packets)) < 0.01,
    `${judged.toFixed(2)} s judged of ${result.packets} usable frames (lost: ${frames.length + 100 - result.packets - result.unusable}, unusable: ${result.unusable})`,
  );
  console.info(`#11441 reproduction: sent ${frames.length + 100}, received as speech ${result.packets}, unusable ${result.unusable}`);
});

test("while the bot re-initialises after op 31, members' frames reach the recording still DAVE-encrypted: they are not speech, and recording goes on", async () => {
  const member = h.discord.addMember('recovered', { inVoice: true });
  await startRecording(member);
  const clipsBefore = h.clips.length;
  const session = h.adapter.clone.sessionOf(member.id)!;
  const dave = h.discord.voice.dave()!;
  const t0 = Date.now();
  // A corrupted commit: the library answers op 31 and re-initialises; its re-admission is held
  // back 600 ms while the member speaks with the group's keys (A1's reproduction, dave.test.ts).
  dave.tamperNextToBot = 'commit';
  dave.rekeyMember(member.id);
  const invalid = await dave.events.waitFor((e) => e.type === 'invalid-commit-welcome' && e.userId === h.discord.botUserId && e.at >= t0, 5_000);
  dave.botDeliveryDelayMs = 600;
  const frames = opus.slice(0, 150);
  try {
    const seen = dave.events.entries.indexOf(invalid);
    await dave.events.waitFor((e) => e.type === 'commit' && dave.events.entries.indexOf(e) > seen, 5_000);
    await h.discord.voice.sendAudio(member.id, frames, { waitForDave: false });
  } finally {
    dave.botDeliveryDelayMs = 0;
  }
  await h.discord.voice.waitForDave(member.id);
  const afterRecovery = session.packets;
  await h.discord.voice.sendAudio(member.id, opus.slice(150, 400), { intervalMs: 20 });
  await eventually(() => session.packets >= afterRecovery + 240, 5_000, 'frames after the recovery to be received');
  h.discord.setMemberVoiceChannel(member.id, null);
  const result = await session.ended;
  assert.equal(result.reason, 'left_channel', 'recovered: the recording was not given up');
  assert.ok(result.unusable > 0, 'the library handed out DAVE ciphertext as Opus (pinned), and it was caught');
  const judged = judgedSeconds(clipsBefore);
  assert.ok(
    Math.abs(judged - expectedJudged(result.packets)) < 0.01,
    `${judged.toFixed(2)} s judged of ${result.packets} usable frames (unusable: ${result.unusable})`,
  );
  console.info(
    `re-initialisation reproduction: sent ${frames.length} during it, then 250; received as speech ${result.packets}, still encrypted (dropped) ${result.unusable}`,
  );
});

// When the voice channel cannot carry a member's audio (discord.js #11445: every packet fails
// to decrypt; #11441: frames lost around key transitions), a /clone recording says so within
// seconds, keeps nothing of it, and offers the voice-message path at once; frames lost or
// still encrypted are never counted as speech; a member who sends nothing is told so.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { decodeAudioFile } from '../../../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../../../src/engine/audio/opus-frames.ts';
import { decodeWav } from '../../../src/engine/audio/wav.ts';
import { MessageFlags, type FakeUser } from '../../fakes/discord/index.ts';
import { eventually } from '../../support/runtime-fixture.ts';
import { createToneBackend } from '../../support/tone-backend.ts';
import { speakerFiles } from '../../support/speech-data.ts';
import { contentOf, speechFrames, startHarness, startVoiceRecording, waitForEdit, type Harness } from './harness.ts';
import { sendBrokenPackets, type BrokenPacket } from './member-audio.ts';

const STALL_MS = 1_500;
let h: Harness;
let opus: Buffer[];

beforeAll(async () => {
  // A 60 s target: no sample completes here, so no fine-tune competes for the CPU with the timings.
  h = await startHarness({
    backend: createToneBackend({ targetSpeechSeconds: 60 }),
    tuning: { receiveStallMs: STALL_MS, quietNoticeMs: 2_000, idleLeaveMs: 60_000 },
  });
  opus = await speechFrames('3331', 20);
});

afterAll(async () => {
  await h.close();
});

const startRecording = (member: FakeUser): Promise<string> => startVoiceRecording(h, member);

for (const kind of ['wrong_key', 'not_opus'] satisfies BrokenPacket[]) {
  test(`packets that arrive but never become audio (${kind}): told within seconds, nothing kept, the voice-message path offered at once and working`, async () => {
    const member = h.discord.addMember(`m_${kind}`, { inVoice: true });
    const identity = { platform: 'discord', platformUserId: member.id };
    const agreeId = await startRecording(member);
    const clipsBefore = h.clips.length;
    let sentAt = Number.POSITIVE_INFINITY;
    const sending = sendBrokenPackets(h.discord, member.id, kind, 250, opus, () => {
      sentAt = Date.now();
    });
    const told = await waitForEdit(h.discord, agreeId, /cannot receive your audio in the voice channel/, 15_000);
    // Within seconds (the stall plus a margin for a loaded machine); without the watch it is never.
    assert.ok(told.at - sentAt < STALL_MS + 3_500, `told ${told.at - sentAt} ms after the first packet`);
    assert.match(contentOf(told), /Send a Discord voice message in this channel/, 'offered the voice-message path in the same message');
    await sending;
    assert.equal(h.adapter.clone.sessionOf(member.id), null, 'recording ended');
    assert.equal(h.clips.length, clipsBefore, 'nothing of it reached the core');
    assert.equal(h.fixture.runtime.vocalis.status(identity).sample.clips, 0);

    // The member sends a Discord voice message instead: it goes the upload path, under the same consent.
    const pcm = await decodeAudioFile(speakerFiles('3331')[0]!, { sampleRate: 48_000 });
    const ogg = await encodeOggOpus({ samples: pcm.samples, sampleRate: 48_000 });
    h.discord.dispatchMessage({
      authorId: member.id,
      attachments: [{ filename: 'voice-message.ogg', data: Buffer.from(ogg), contentType: 'audio/ogg', durationSecs: pcm.samples.length / 48_000 }],
      flags: MessageFlags.IsVoiceMessage,
    });
    await eventually(() => h.fixture.runtime.vocalis.status(identity).sample.clips === 1, 90_000, 'the voice message to be judged and kept');
  });
}

test('frames lost or left end-to-end encrypted around a key transition are not counted as speech, and not in the clips', async () => {
  const member = h.discord.addMember('lossy', { inVoice: true });
  await startRecording(member);
  const clipsBefore = h.clips.length;
  // 12 s of speech: a third of the frames lost (#11441), and one second passed through still
  // E2EE-encrypted (DAVE's trailer, 0xFAFA), as the library leaves frames it could not decrypt.
  const arriving = opus.slice(0, 600).filter((_f, i) => i % 3 !== 2);
  const garbled = arriving.map((f, i) =>
    i >= 100 && i < 150 ? Buffer.concat([f.map((b) => b ^ 0x5a), Buffer.alloc(8, 1), Buffer.from([3, 12, 0xfa, 0xfa])]) : f,
  );
  const usable = arriving.length - 50;
  await h.discord.voice.sendAudio(member.id, garbled, { intervalMs: 20, trailingSilenceFrames: 5 });
  const session = h.adapter.clone.sessionOf(member.id)!;
  await eventually(() => session.packets === usable, 20_000, `${usable} usable frames received`);
  assert.ok(session.progress().netSeconds <= Math.floor(usable * 0.02), `progress ${session.progress().netSeconds} s from ${usable} usable frames`);
  // Leaving the channel ends the recording; what was held is still judged.
  h.discord.setMemberVoiceChannel(member.id, null);
  const result = await session.ended;
  assert.equal(result.reason, 'left_channel');
  assert.equal(result.unusable, 50);
  assert.equal(result.packets, usable);
  // Every clip judged holds usable frames only: 20 ms each, never the lost or garbled time.
  const judged = h.clips
    .slice(clipsBefore)
    .map((bytes) => decodeWav(bytes))
    .reduce((n, pcm) => n + pcm.samples.length / pcm.sampleRate, 0);
  assert.ok(Math.abs(judged - usable * 0.02) < 0.01, `${judged.toFixed(2)} s judged from ${usable} usable frames (${arriving.length} arrived)`);
});

test('a member who sends nothing at all is told within seconds that nothing arrives, and how to send a voice message instead', async () => {
  const member = h.discord.addMember('mute', { inVoice: true });
  const agreeId = await startRecording(member);
  const startedAt = Date.now();
  const told = await waitForEdit(h.discord, agreeId, /have not received any audio from you/, 10_000);
  assert.ok(told.at - startedAt < 6_000, `told after ${told.at - startedAt} ms (quietNoticeMs 2 s)`);
  assert.match(contentOf(told), /voice message/);
  assert.equal(h.adapter.clone.sessionOf(member.id)?.state.status, 'recording', 'still listening: they may just not have started');
  // Their voice arrives: the notice goes away with the next progress line.
  await h.discord.voice.sendAudio(member.id, opus.slice(0, 100), { intervalMs: 10 });
  const after = await h.discord.interactions.webhookCalls.waitFor(
    (c) => c.interactionId === agreeId && c.at > told.at && /of 60 s/.test(contentOf(c)) && !/have not received/.test(contentOf(c)),
    15_000,
  );
  assert.ok(after);
  const stop = h.discord.dispatchInteraction({ kind: 'button', customId: `vocalis:stop:${member.id}`, userId: member.id });
  await h.discord.waitForInteractionResponse(stop.id);
});

// A fine-tune that fails is told in the member's words, not as the job's code: the
// Discord job notifier renders the outcome with the same shared wording as Telegram.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { decodeAudioFile } from '../../../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../../../src/engine/audio/opus-frames.ts';
import { MessageFlags, OptionType } from '../../fakes/discord/index.ts';
import { speakerFiles } from '../../support/speech-data.ts';
import { createToneBackend } from '../../support/tone-backend.ts';
import { contentOf, startHarness, waitForEdit, type Harness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  // Every attempt fails, so the job ends `failed` with the code `failed`.
  h = await startHarness({ backend: createToneBackend({ targetSpeechSeconds: 8, failAttempts: [1, 2, 3, 4, 5] }) });
});

afterAll(async () => {
  await h.close();
});

function buttonIds(record: { data: Record<string, unknown> | undefined }): string[] {
  const rows = (record.data?.['components'] ?? []) as Array<{ components?: Array<{ custom_id?: string }> }>;
  return rows.flatMap((row) => (row.components ?? []).map((c) => c.custom_id ?? ''));
}

async function voiceMessage(seconds: number): Promise<Uint8Array> {
  let samples = new Float32Array(0);
  for (const file of speakerFiles('1688')) {
    if (samples.length >= seconds * 48000) break;
    const more = await decodeAudioFile(file, { sampleRate: 48000 });
    const joined = new Float32Array(samples.length + more.samples.length);
    joined.set(samples);
    joined.set(more.samples, samples.length);
    samples = joined;
  }
  return encodeOggOpus({ samples, sampleRate: 48000 });
}

test("a failed fine-tune is told as the catalogue's message for its code, in the /clone message and to the member", async () => {
  const { discord } = h;
  const gina = discord.addMember('gina');
  const slash = discord.dispatchInteraction({
    kind: 'slash',
    name: 'clone',
    userId: gina.id,
    options: [{ name: 'source', type: OptionType.String, value: 'upload' }],
  });
  const offer = await discord.waitForInteractionResponse(slash.id);
  const agreeId = buttonIds(offer).find((id) => id.startsWith('vocalis:agree:'))!;
  const agree = discord.dispatchInteraction({ kind: 'button', customId: agreeId, userId: gina.id });
  await waitForEdit(discord, agree.id, /Send a Discord voice message/);

  const ogg = await voiceMessage(14);
  discord.dispatchMessage({
    authorId: gina.id,
    attachments: [{ filename: 'voice-message.ogg', data: Buffer.from(ogg), contentType: 'audio/ogg', durationSecs: 14 }],
    flags: MessageFlags.IsVoiceMessage,
  });
  await waitForEdit(discord, agree.id, /being trained/, 20_000);

  const failed = await waitForEdit(discord, agree.id, /Training your voice failed/, 30_000);
  assert.equal(
    contentOf(failed),
    'Training your voice failed: Something went wrong on our side. Please try again later. Your previous voice, if any, still works.',
    "the reason is the catalogue's sentence, never the raw code",
  );
  const dm = discord.openDm(gina.id);
  const told = await discord.botMessages.waitFor((m) => m.channelId === dm.id && /Training your voice failed/.test(String(m.body['content'] ?? '')), 10_000);
  assert.doesNotMatch(String(told.body['content']), /: failed\./);
});

// The default backend end to end on the hermetic Discord: a member agrees, uploads a
// minute of real speech as a Discord voice message, the classic backend fine-tunes, and
// /speak streams the converted voice into the channel as continuous Opus.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { decodeAudioFile } from '../../../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../../../src/engine/audio/opus-frames.ts';
import { createClassicBackend } from '../../../src/engine/backends/classic/index.ts';
import { isSilenceFrame, MessageFlags, OptionType } from '../../fakes/discord/index.ts';
import { eventually } from '../../support/runtime-fixture.ts';
import { speakerFiles } from '../../support/speech-data.ts';
import { contentOf, startHarness, waitForEdit } from './harness.ts';

test('classic backend: /clone from a voice message → fine-tune → /speak as continuous Opus', async (t) => {
  // Fewer base voices and mixture sizes than production, to fit the test budget.
  const h = await startHarness({ backend: createClassicBackend({ baseVoices: ['flite-slt', 'flite-rms'], mixtures: [1, 2, 4] }) });
  try {
    const { discord } = h;
    const grace = discord.addMember('grace', { inVoice: true });
    const slash = discord.dispatchInteraction({
      kind: 'slash',
      name: 'clone',
      userId: grace.id,
      options: [{ name: 'source', type: OptionType.String, value: 'upload' }],
    });
    const offer = await discord.waitForInteractionResponse(slash.id);
    const rows = (offer.data?.['components'] ?? []) as Array<{ components?: Array<{ custom_id?: string }> }>;
    const agreeId = rows.flatMap((row) => (row.components ?? []).map((c) => c.custom_id ?? '')).find((id) => id.startsWith('vocalis:agree:'))!;
    const agree = discord.dispatchInteraction({ kind: 'button', customId: agreeId, userId: grace.id });
    await waitForEdit(discord, agree.id, /Send a Discord voice message/);

    // A minute and a bit of one LibriSpeech speaker, as one voice message.
    const parts: Float32Array[] = [];
    let total = 0;
    for (const file of speakerFiles('3331')) {
      const decoded = await decodeAudioFile(file, { sampleRate: 48000 });
      parts.push(decoded.samples);
      total += decoded.samples.length;
    }
    const samples = new Float32Array(total);
    let at = 0;
    for (const part of parts) {
      samples.set(part, at);
      at += part.length;
    }
    const ogg = await encodeOggOpus({ samples, sampleRate: 48000 });
    discord.dispatchMessage({
      authorId: grace.id,
      attachments: [{ filename: 'voice-message.ogg', data: Buffer.from(ogg), contentType: 'audio/ogg', durationSecs: total / 48000 }],
      flags: MessageFlags.IsVoiceMessage,
    });
    await waitForEdit(discord, agree.id, /Your sample is good/, 60_000);
    const identity = { platform: 'discord', platformUserId: grace.id };
    await eventually(() => h.fixture.runtime.vocalis.status(identity).consent?.state === 'voice_ready', 90_000, 'the classic fine-tune');
    const job = h.fixture.runtime.vocalis.status(identity).job;
    await t.annotate(`fine-tune result: ${JSON.stringify(job?.result)}`);

    const start = discord.voice.frames().length;
    const sentAt = process.hrtime.bigint();
    const speak = discord.dispatchInteraction({
      kind: 'slash',
      name: 'speak',
      userId: grace.id,
      options: [{ name: 'text', type: OptionType.String, value: 'Hello everyone, this is my synthetic voice speaking in the channel today.' }],
    });
    const reply = await discord.waitForInteractionResponse(speak.id);
    assert.match(contentOf(reply), new RegExp(`AI voice of <@${grace.id}>`));
    await eventually(
      () => {
        const frames = discord.voice.frames().slice(start);
        const audio = frames.filter((f) => !isSilenceFrame(f.opus)).length;
        return audio > 100 && frames.length > audio && isSilenceFrame(frames[frames.length - 1]!.opus);
      },
      30_000,
      'the end of the utterance',
    );
    const frames = discord.voice.frames().slice(start);
    const stats = discord.voice.analyze(frames);
    assert.ok(stats.audioCount > 100, `a 12-word sentence lasts more than 2 s (${stats.audioCount} frames)`);
    assert.equal(stats.silenceMidUtterance, 0, 'no silence frames inside the utterance');
    assert.equal(stats.sequenceGaps, 0);
    const first = frames.find((f) => !isSilenceFrame(f.opus))!;
    assert.ok(first.arrivedAtNs > sentAt);
    await t.annotate(
      `first audio ${(Number(first.arrivedAtNs - sentAt) / 1e6).toFixed(0)} ms; ${stats.audioCount} frames; jitter ${stats.jitterMs.toFixed(2)} ms`,
    );
  } finally {
    await h.close();
  }
});

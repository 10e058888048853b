import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { decodeAudio } from '../../../src/engine/audio/decode.ts';
import { readOggOpus } from '../../../src/engine/audio/ogg-opus-reader.ts';
import { createClassicBackend } from '../../../src/engine/backends/classic/index.ts';
import { DEFAULT_USER, privateChat } from '../../fakes/telegram/index.ts';
import { buttons, joinedNotes, press, resultMessage, sentTexts, startHarness, waitForText } from './harness.ts';

/**
 * End to end with the real CPU backend: a minute of a LibriSpeech speaker's voice
 * notes → the classic fine-tune → /speak answered with a voice note in that voice.
 */
describe('Telegram with the classic backend', () => {
  it('clones from a minute of voice notes and answers /speak with a playable voice note', async () => {
    const h = await startHarness({
      // Two base voices and small mixtures keep the CPU fine-tune short on a shared 2-core machine.
      backends: [createClassicBackend({ baseVoices: ['flite-slt', 'flite-rms'], mixtures: [1, 2, 4] })],
      config: { sendQueue: { perChatIntervalMs: 50 } },
    });
    try {
      const { fake } = h;
      const chat = privateChat(DEFAULT_USER).id;
      fake.pushUpdate(fake.updates.command('clone'));
      const notice = resultMessage(await fake.waitForCall('sendMessage', (c) => c.params.reply_markup !== undefined));
      await press(fake, notice, buttons(notice)[0]!, DEFAULT_USER);
      await waitForText(fake, chat, /^Your confirmation phrase/);

      // 3331's ten utterances (about 63 s of speech) as four longer voice notes.
      const notes = await joinedNotes('3331', 4);
      const phases: string[] = [];
      let mark = Date.now();
      const phase = (name: string) => {
        phases.push(`${name} ${((Date.now() - mark) / 1000).toFixed(1)} s`);
        mark = Date.now();
      };
      let queued: ReturnType<typeof resultMessage> | undefined;
      for (const note of notes) {
        const complete = waitForText(fake, chat, /Your sample is complete/, 60_000);
        const progress = waitForText(fake, chat, /^Recorded \d+ of \d+ s/, 30_000);
        fake.pushUpdate(fake.updates.voice({ bytes: note }));
        await progress;
        const last = sentTexts(fake, chat)
          .filter((t) => t.startsWith('Recorded'))
          .at(-1)!;
        // The target is the backend's (classic: 45 s of net speech), as the message says.
        const [, recorded, target] = /Recorded (\d+) of (\d+) s/.exec(last)!;
        if (Number(recorded) >= Number(target)) {
          queued = resultMessage(await complete);
          break;
        }
        complete.catch(() => undefined);
      }
      assert.ok(queued, 'enough speech completed the sample');
      phase('sample');
      // About 40 s alone on 2 cores; the whole suite runs beside it (two test files at a time), so room for twice that and more.
      await fake.waitForCall(
        'editMessageText',
        (c) => c.params.message_id === queued!.message_id && /Your voice is ready/.test(String(c.params.text)),
        180_000,
      );
      phase('fine-tune');

      const text = 'Please bring the blue book and four red apples to the kitchen table';
      const before = Date.now();
      fake.pushUpdate(fake.updates.command('speak', text));
      const call = await fake.waitForCall('sendVoice', () => true, 20_000);
      const latencyMs = call.at - before;
      const voice = fake.sentVoices(chat)[0]!;
      assert.equal(voice.caption, 'AI voice of @alice');
      const ogg = readOggOpus(new Uint8Array(voice.bytes));
      assert.equal(ogg.channels, 1);
      const pcm = await decodeAudio(new Uint8Array(voice.bytes), { sampleRate: 48_000 });
      const seconds = pcm.samples.length / pcm.sampleRate;
      assert.ok(seconds > 2 && seconds < 8, `12 words take a few seconds, got ${seconds}`);
      assert.equal(call.params.duration, Math.max(1, Math.round(seconds)), 'declared duration matches the audio');
      console.log(`classic: ${phases.join(', ')}; /speak ${latencyMs} ms from update to sendVoice, ${seconds.toFixed(2)} s of audio`);
    } finally {
      await h.close();
    }
  });
});

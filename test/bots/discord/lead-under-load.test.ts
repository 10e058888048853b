import { test } from 'vitest';
import assert from 'node:assert/strict';
import { leadUnderLoad } from '../../../src/bots/discord/speak-commands.ts';
import { PHRASE_END, PlaybackBuffer } from '../../../src/engine/audio/playback-buffer.ts';

test('alone, the configured lead and phrase-start apply; under load the lead grows, capped at 5 s', () => {
  assert.deepEqual(leadUnderLoad(10, 0), { leadFrames: 10, startOnPhraseEnd: true });
  assert.deepEqual(leadUnderLoad(10, 1), { leadFrames: 10, startOnPhraseEnd: true });
  assert.deepEqual(leadUnderLoad(10, 5), { leadFrames: 110, startOnPhraseEnd: false });
  assert.deepEqual(leadUnderLoad(10, 40), { leadFrames: 250, startOnPhraseEnd: false });
});

test('without phrase-start, a finished phrase below the lead does not start playback', async () => {
  const frame = new Uint8Array([0xfc, 1, 2]);
  const run = async (startOnPhraseEnd: boolean): Promise<string> => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let stateAfterPhrase = '';
    const buffer = new PlaybackBuffer({ leadFrames: 10, startOnPhraseEnd });
    async function* source(): AsyncGenerator<Uint8Array | typeof PHRASE_END> {
      for (let i = 0; i < 3; i++) yield frame;
      yield PHRASE_END;
      // The next phrase is still being synthesized: look at the state now.
      await new Promise((resolve) => setImmediate(resolve));
      stateAfterPhrase = buffer.state;
      await held;
    }
    const pumping = buffer.start(source());
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    await pumping;
    return stateAfterPhrase;
  };
  assert.equal(await run(true), 'playing', 'by default the first phrase starts playback');
  assert.equal(await run(false), 'buffering', 'under load it waits for the lead');
});

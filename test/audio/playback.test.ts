import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'vitest';
import { PHRASE_END, PlaybackBuffer } from '../../src/engine/audio/playback-buffer.ts';
import type { PlaybackItem } from '../../src/engine/audio/playback-buffer.ts';
import { OPUS_SILENCE_FRAME, playbackReadable } from '../../src/engine/audio/playback-stream.ts';

/** A frame stamped with its index, so the player can tell real audio from inserted silence. */
const frame = (i: number): Uint8Array => Uint8Array.of(0xfc, i & 0xff, (i >> 8) & 0xff, 1);

/** Bursty producer: 1 s of audio in bursts every ~300 ms, on average 1.5× real time. */
async function* bursty(total: number, signal?: AbortSignal): AsyncGenerator<PlaybackItem> {
  let i = 0;
  while (i < total) {
    await sleep(i === 0 ? 120 : 200, undefined, { signal });
    for (let k = 0; k < 15 && i < total; k++) yield frame(i++);
  }
  yield PHRASE_END;
}

test('bursty producer into a 20 ms player through the Readable: no silence mid-utterance', async () => {
  const buffer = new PlaybackBuffer({ leadFrames: 15, highWaterFrames: 100 });
  const stream = playbackReadable(buffer);
  void buffer.start(bursty(100, buffer.signal));
  // Player loop as @discordjs/voice's AudioPlayer: wait for 'readable', then one read() per 20 ms tick.
  await new Promise((resolve) => stream.once('readable', resolve));
  const played: number[] = [];
  let missed = 0;
  let silenceMid = 0;
  const started = performance.now();
  for (let tick = 0; tick < 400 && !stream.readableEnded; tick++) {
    await sleep(Math.max(0, started + tick * 20 - performance.now()));
    const packet: unknown = stream.read();
    if (packet instanceof Uint8Array) {
      missed = 0;
      if (packet.length === OPUS_SILENCE_FRAME.length) silenceMid++;
      else played.push((packet[1] ?? 0) | ((packet[2] ?? 0) << 8));
    } else if (played.length > 0 && played.length < 100) {
      missed++;
      silenceMid++;
      assert.ok(missed < 5, 'the player would have stopped after 5 missed frames');
    }
    if (played.length === 100) break;
  }
  assert.deepEqual(
    played,
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.equal(silenceMid, 0, 'silence was inserted mid-utterance');
});

test('buffering → playing at the first phrase end; draining → ended; backpressure holds the producer', async () => {
  const buffer = new PlaybackBuffer({ leadFrames: 50, highWaterFrames: 60 });
  const states: string[] = [];
  buffer.on('state', (s) => states.push(s));
  let produced = 0;
  async function* source(): AsyncGenerator<PlaybackItem> {
    for (let i = 0; i < 5; i++) {
      produced++;
      yield frame(i);
    }
    yield PHRASE_END;
    for (let i = 5; i < 200; i++) {
      produced++;
      yield frame(i);
    }
  }
  const done = buffer.start(source());
  await sleep(20);
  assert.equal(buffer.state, 'playing'); // started on the phrase, though the lead is 50
  assert.ok(produced <= 61 && buffer.queued === 60, `producer ran ahead: ${produced}`);
  let n = 0;
  const isEnded = (): boolean => buffer.state === 'ended';
  while (!isEnded()) {
    if (buffer.read()) n++;
    await sleep(0);
  }
  await done;
  assert.equal(n, 200);
  assert.deepEqual(states, ['playing', 'draining', 'ended']);
});

test('cancel ends at once, aborts the producer and destroys the stream', async () => {
  const buffer = new PlaybackBuffer({ leadFrames: 2 });
  const stream = playbackReadable(buffer);
  let closed = false;
  async function* endless(signal: AbortSignal): AsyncGenerator<PlaybackItem> {
    try {
      for (let i = 0; ; i++) {
        await sleep(5, undefined, { signal });
        yield frame(i);
      }
    } finally {
      closed = true;
    }
  }
  const done = buffer.start(endless(buffer.signal));
  await new Promise((resolve) => stream.once('readable', resolve));
  buffer.cancel('revoked');
  assert.equal(buffer.state, 'cancelled');
  assert.equal(buffer.read(), null);
  await done;
  await sleep(10);
  assert.ok(closed && stream.destroyed && buffer.signal.aborted);
});

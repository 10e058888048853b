// The voice-channel receive path without a network: the consent reading judged as one
// piece (cut at the member's pause, not at the clip length), frames that are lost or still
// end-to-end encrypted counted as nothing, a member whose audio never arrives as audio
// reported as unreceivable, and the session's typed states.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { receivePackets, UnreceivableError } from '../../../src/bots/discord/packet-receiver.ts';
import { isE2eeFrame } from '../../../src/bots/discord/received-frame.ts';
import { RecordingSession, type RecordingResult, type RecordingSessionOptions, type RecordingState } from '../../../src/bots/discord/recording-session.ts';
import type { ClipOutcome } from '../../../src/core/vocalis.ts';
import { decodeWav } from '../../../src/engine/audio/wav.ts';
import { encodeOpusFrames, makeTestPcm } from '../../fakes/discord/opus-fixtures.ts';

const SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);
const tone = (seconds: number) => encodeOpusFrames(makeTestPcm(seconds, 300));
const quiet = (seconds: number) => encodeOpusFrames(new Int16Array(Math.round(seconds * 48_000) * 2));

/** A frame as DAVE leaves it when it is passed through undecrypted: ciphertext, 8-byte tag, nonce, size, 0xFAFA. */
function e2eeFrame(opus: Buffer): Buffer {
  const ciphertext = Buffer.from(opus.map((b) => b ^ 0x5a));
  return Buffer.concat([ciphertext, Buffer.alloc(8, 0x33), Buffer.from([0x07, 12, 0xfa, 0xfa])]);
}

function stored(net: number, complete = false): ClipOutcome {
  return {
    kind: 'stored',
    clipId: `clip_${net}`,
    complete,
    verdict: { accepted: complete, netSpeechSeconds: net, targetSpeechSeconds: 60, problems: [] },
  } as unknown as ClipOutcome;
}
const notHeard = {
  kind: 'refused',
  verdict: { accepted: false, netSpeechSeconds: 0, targetSpeechSeconds: 60, problems: [{ code: 'reading_not_heard', figures: {}, words: ['amber'] }] },
} as unknown as ClipOutcome;

function seconds(wav: Uint8Array): number {
  const pcm = decodeWav(wav);
  return pcm.samples.length / pcm.sampleRate;
}

/** A session fed by hand; `verdicts` answers each submitted clip in turn (then: stored). */
async function session(options: Partial<RecordingSessionOptions>, verdicts: ClipOutcome[] = []) {
  let push: (packet: Uint8Array) => void = () => {};
  let unreceivable: (cause: unknown) => void = () => {};
  const clips: Uint8Array[] = [];
  let stopped = false;
  const s = new RecordingSession({
    open: async (onPacket, onUnreceivable) => {
      push = onPacket;
      unreceivable = onUnreceivable;
      return {
        stop: () => {
          stopped = true;
        },
      };
    },
    submitClip: async (wav) => {
      clips.push(wav);
      return verdicts.shift() ?? stored(clips.length);
    },
    targetSeconds: 60,
    clipPackets: 250,
    timeoutMs: 60_000,
    pauseMs: 300,
    ...options,
  });
  await s.start();
  const feed = (frames: readonly Uint8Array[]) => {
    for (const f of frames) push(f);
  };
  return { s, clips, feed, unreceivable: (cause: unknown) => unreceivable(cause), stopped: () => stopped };
}

const settle = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms));

test("the consent reading is one clip up to the member's pause, longer than a script clip; the script follows in fixed clips", async () => {
  const { s, clips, feed } = await session({ readingFirst: true });
  const kinds: string[] = [];
  s.on('clip', (_o, kind) => kinds.push(kind));
  // 9 s of reading (past the 5 s clip length), then a 1.2 s pause in the audio.
  feed(tone(9));
  await settle();
  assert.equal(clips.length, 0, 'not cut at the 250-frame clip length while the member reads the statement');
  feed(quiet(1.2));
  await settle();
  assert.equal(clips.length, 1);
  assert.ok(Math.abs(seconds(clips[0]!) - 10) < 0.05, `reading clip ${seconds(clips[0]!)} s: the statement and the pause, whole`);
  feed(tone(11));
  await settle();
  assert.deepEqual(kinds, ['reading', 'script', 'script']);
  assert.ok(Math.abs(seconds(clips[1]!) - 5) < 0.05, 'after the reading: 250-frame clips');
  await s.stop('cancelled');
});

test('a reading ends when the client stops sending (silence frames, then nothing) — not at a short breath, not before the statement could be said', async () => {
  const { s, clips, feed } = await session({ readingFirst: true });
  feed(tone(2));
  feed([SILENCE, SILENCE, SILENCE, SILENCE, SILENCE]);
  await settle(500);
  assert.equal(clips.length, 0, '2 s of speech is too little for the statement: a pause does not end it');
  feed(tone(5));
  await settle(100);
  assert.equal(clips.length, 0, 'a pause shorter than pauseMs does not end it');
  feed([SILENCE, SILENCE, SILENCE, SILENCE, SILENCE]);
  await settle(500);
  assert.equal(clips.length, 1, 'nothing sent for 300 ms after 7 s of speech: the reading is judged');
  assert.ok(Math.abs(seconds(clips[0]!) - 7) < 0.05, 'silence frames are not audio');
  await s.stop('cancelled');
});

test('a refused reading leaves the next audio a reading again; a reading with no pause is cut at 30 s', async () => {
  const { s, clips, feed } = await session({ readingFirst: true }, [notHeard]);
  const outcomes: string[] = [];
  s.on('clip', (o, kind) => outcomes.push(`${kind}:${o.kind}`));
  feed(tone(6));
  feed(quiet(1.1));
  await settle();
  feed(tone(31));
  await settle();
  assert.deepEqual(outcomes, ['reading:refused', 'reading:stored']);
  assert.ok(Math.abs(seconds(clips[1]!) - 30) < 0.05, `cut at 30 s: ${seconds(clips[1]!)}`);
  await s.stop('cancelled');
});

test('without a reading to wait for (verification off, or already read), clips have the fixed length from the start', async () => {
  const { s, clips, feed } = await session({ readingFirst: false });
  feed(tone(6));
  feed(quiet(1.2));
  await settle();
  assert.equal(clips.length, 1);
  assert.ok(Math.abs(seconds(clips[0]!) - 5) < 0.05);
  await s.stop('cancelled');
});

test('frames lost or still end-to-end encrypted are not speech: not in the clip, not in the progress count', async () => {
  assert.ok(isE2eeFrame(e2eeFrame(tone(0.02)[0]!)));
  assert.ok(
    tone(2).every((f) => !isE2eeFrame(f)),
    'real Opus frames are not taken for encrypted ones',
  );
  // Opus that merely ends in 0xFAFA: a footer size that does not fit, a nonce that runs on, a range outside the frame.
  const opus = tone(0.02)[0]!;
  assert.ok(!isE2eeFrame(Buffer.concat([opus, Buffer.from([5, 0xfa, 0xfa])])));
  assert.ok(!isE2eeFrame(Buffer.concat([opus, Buffer.alloc(8, 1), Buffer.from([0x80, 12, 0xfa, 0xfa])])));
  assert.ok(!isE2eeFrame(Buffer.concat([opus, Buffer.alloc(8, 1), Buffer.from([0x01, 0x7f, 0xff, 0x7f, 15, 0xfa, 0xfa])])));
  assert.ok(isE2eeFrame(Buffer.concat([opus, Buffer.alloc(8, 1), Buffer.from([0x01, 0x00, 0x01, 14, 0xfa, 0xfa])])), 'a footer with one unencrypted range');
  const { s, clips, feed } = await session({ clipPackets: 100, minClipPackets: 1 });
  const frames = tone(4);
  // A key transition: a third of the frames lost (#11441), a run passed through still encrypted, a corrupt one.
  const arriving = frames.filter((_f, i) => i % 3 !== 2);
  const mixed: Buffer[] = [];
  arriving.forEach((f, i) => {
    mixed.push(i >= 40 && i < 60 ? e2eeFrame(f) : f);
    if (i === 70) mixed.push(Buffer.from([0xff, 0x00]));
    if (i === 71) mixed.push(Buffer.alloc(0));
  });
  const speech = arriving.length - 20;
  feed(mixed);
  assert.equal(s.packets, speech, 'only decodable speech frames are counted');
  assert.equal(s.progress().netSeconds, Math.floor(speech * 0.02), 'progress counts 20 ms per usable frame, never the gaps');
  const result = await s.stop('timeout');
  assert.equal(result.unusable, 22);
  const total = clips.reduce((n, c) => n + seconds(c), 0);
  assert.ok(Math.abs(total - speech * 0.02) < 0.01, `${total} s of clips from ${speech} usable frames: no padding, no noise`);
});

test('a member whose frames keep arriving unusable is unreceivable: recording ends at once and nothing is judged', async () => {
  const { s, clips, feed, stopped } = await session({ unusableLimit: 50 });
  feed(tone(1));
  feed(tone(1.2).map(e2eeFrame));
  const result = await s.ended;
  assert.equal(result.reason, 'unreceivable');
  assert.equal(result.state, 'failed');
  assert.equal(clips.length, 0, 'the second of speech before it is dropped, not judged');
  assert.equal(s.progress().netSeconds, 0);
  assert.ok(stopped());
});

test('the packet source reporting the member unreceivable ends the session the same way', async () => {
  const { s, clips, feed, unreceivable } = await session({});
  feed(tone(1));
  unreceivable(new UnreceivableError('test'));
  const result = await s.ended;
  assert.equal(result.reason, 'unreceivable');
  assert.ok(result.error instanceof UnreceivableError);
  assert.equal(clips.length, 0);
});

test('nothing at all from the member for quietNoticeMs raises `quiet`, again after each packet', async () => {
  const { s, feed } = await session({ quietNoticeMs: 150 });
  let quiets = 0;
  s.on('quiet', () => quiets++);
  await settle(250);
  assert.equal(quiets, 1);
  feed(tone(0.1));
  await settle(100);
  assert.equal(quiets, 1, 're-armed by the packet');
  await settle(150);
  assert.equal(quiets, 2);
  await s.stop('cancelled');
});

test('state is a typed union: each state carries what means something in it, and every change is a stateChange', async () => {
  const { s, feed } = await session({ readingFirst: false, clipPackets: 50 }, [stored(0.5), stored(1.5, true)]);
  const seen: Array<[RecordingState, RecordingState]> = [];
  s.on('stateChange', (a, b) => seen.push([a, b]));
  assert.equal(s.state.status, 'recording');
  const recording = s.state;
  assert.ok(recording.status === 'recording' && recording.source && recording.cutter && recording.timers);
  feed(tone(3));
  const result: RecordingResult = await s.ended;
  assert.deepEqual(
    seen.map(([a, b]) => `${a.status}>${b.status}`),
    ['recording>judging', 'judging>done'],
  );
  const [, judging] = seen[0]!;
  assert.ok(judging.status === 'judging' && judging.ending.reason === 'complete');
  const stateNow = (): RecordingState => s.state;
  const done = stateNow();
  assert.ok(done.status === 'done' && done.result === result && result.completion?.complete);
  assert.equal(s.progress().netSeconds, 60, 'complete: the target is shown as reached');
});

/** A receiver like @discordjs/voice's: subscriptions, and a speaking map fed by every arriving packet. */
function fakeReceiver() {
  const subscriptions: PassThrough[] = [];
  const receiver = new (class extends EventEmitter {
    readonly speaking = { users: new Map<string, number>() };
    readonly map = new Map<string, PassThrough>();
    subscribe(userId: string): Readable {
      const stream = new PassThrough({ objectMode: true });
      stream.once('close', () => this.map.delete(userId));
      this.map.set(userId, stream);
      subscriptions.push(stream);
      return stream;
    }
  })();
  return { receiver, subscriptions };
}

test('receivePackets: packets that arrive (speaking) and never come out for stallMs make the member unreceivable, once', async () => {
  const { receiver, subscriptions } = fakeReceiver();
  const causes: unknown[] = [];
  const started = Date.now();
  const sub = receivePackets(
    receiver,
    'u1',
    () => {},
    (cause) => causes.push(cause),
    { stallMs: 600 },
  );
  receiver.speaking.users.set('u1', Date.now());
  while (causes.length === 0 && Date.now() - started < 3_000) await settle(50);
  assert.equal(causes.length, 1);
  assert.ok(causes[0] instanceof UnreceivableError);
  assert.ok(Date.now() - started < 1_200, `told within ${Date.now() - started} ms`);
  assert.ok(subscriptions[0]!.destroyed, 'receiving stopped');
  await settle(400);
  assert.equal(causes.length, 1);
  sub.stop();
});

test('receivePackets: a member who speaks and is delivered, or who is silent, is never unreceivable', async () => {
  const { receiver, subscriptions } = fakeReceiver();
  const causes: unknown[] = [];
  const got: number[] = [];
  const sub = receivePackets(
    receiver,
    'u1',
    (p) => got.push(p.length),
    (cause) => causes.push(cause),
    { stallMs: 300 },
  );
  receiver.speaking.users.set('u1', Date.now());
  for (let i = 0; i < 40; i++) {
    subscriptions[0]!.write(Buffer.from([1, 2, 3, 4]));
    await settle(20);
  }
  receiver.speaking.users.delete('u1');
  await settle(500);
  assert.equal(causes.length, 0);
  assert.equal(got.length, 40);
  sub.stop();
});

test('receivePackets: packets that mostly never come out (a few pass between runs of drops, as DAVE re-initialises) make the member unreceivable; half coming out does not', async () => {
  for (const [deliverEvery, expectTold] of [
    [4, true],
    [2, false],
  ] as const) {
    const { receiver, subscriptions } = fakeReceiver();
    const causes: unknown[] = [];
    const sub = receivePackets(
      receiver,
      'u1',
      () => {},
      (cause) => causes.push(cause),
      { stallMs: 1_000 },
    );
    receiver.speaking.users.set('u1', Date.now());
    // 3 s of arriving packets; something comes out in one watch tick of every `deliverEvery`.
    for (let tick = 0; tick < 12 && causes.length === 0; tick++) {
      if (tick % deliverEvery === 0) subscriptions.at(-1)!.write(Buffer.from([1, 2, 3]));
      await settle(250);
    }
    assert.equal(causes.length > 0, expectTold, `delivering in 1 of ${deliverEvery} ticks`);
    sub.stop();
  }
});

test('receivePackets: a stream that fails on every packet (#11445) is given up after 20 replacements, as unreceivable', async () => {
  const { receiver, subscriptions } = fakeReceiver();
  const causes: unknown[] = [];
  receivePackets(
    receiver,
    'u1',
    () => {},
    (cause) => causes.push(cause),
    { stallMs: 60_000 },
  );
  for (let i = 0; i < 30 && causes.length === 0; i++) {
    subscriptions.at(-1)!.destroy(new Error('DecryptionFailed(UnencryptedWhenPassthroughDisabled)'));
    await settle(5);
  }
  assert.equal(causes.length, 1);
  assert.ok(causes[0] instanceof UnreceivableError);
  assert.match(String((causes[0] as Error).cause), /UnencryptedWhenPassthroughDisabled/);
  assert.equal(subscriptions.length, 21);
});

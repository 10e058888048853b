// The adapter's pure parts: the fair queue, the recording state machine, the receive
// adapter's resubscription, command definitions and the Discord message catalogue.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { commandDefinitions } from '../../../src/bots/discord/command-definitions.ts';
import { buttonId, parseButtonId } from '../../../src/bots/discord/consent-prompt.ts';
import { FairQueue } from '../../../src/bots/discord/fair-queue.ts';
import { receivePackets } from '../../../src/bots/discord/packet-receiver.ts';
import { RecordingSession, type RecordingStatus } from '../../../src/bots/discord/recording-session.ts';
import type { ClipOutcome } from '../../../src/core/vocalis.ts';
import { decodeWav } from '../../../src/engine/audio/wav.ts';
import { discord as en } from '../../../src/i18n/en/discord.ts';
import { discord as zh } from '../../../src/i18n/zh/discord.ts';
import { encodeOpusFrames, makeTestPcm } from '../../fakes/discord/opus-fixtures.ts';

test('FairQueue serves users round-robin, FIFO within a user, and reports positions', () => {
  const q = new FairQueue<string>();
  assert.equal(q.push('ann', 'a1'), 1);
  assert.equal(q.push('ann', 'a2'), 2);
  assert.equal(q.push('ann', 'a3'), 3);
  assert.equal(q.push('ben', 'b1'), 2, "ben goes before ann's second item");
  assert.equal(q.push('cat', 'c1'), 3);
  assert.deepEqual(q.toArray(), ['a1', 'b1', 'c1', 'a2', 'a3']);
  assert.equal(q.shift(), 'a1');
  assert.equal(q.push('ben', 'b2'), 4);
  assert.deepEqual(q.toArray(), ['b1', 'c1', 'a2', 'b2', 'a3']);
  assert.deepEqual(
    q.remove((x) => x.startsWith('b')),
    ['b1', 'b2'],
  );
  assert.deepEqual([q.shift(), q.shift(), q.shift(), q.shift()], ['c1', 'a2', 'a3', undefined]);
  assert.equal(q.size, 0);
});

const SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);

function stored(net: number, target: number, complete: boolean): ClipOutcome {
  return {
    kind: 'stored',
    clipId: `clip_${net}`,
    complete,
    verdict: { accepted: complete, netSpeechSeconds: net, targetSpeechSeconds: target, problems: [] },
  } as unknown as ClipOutcome;
}

test('RecordingSession: joining → recording → clips per batch → done when the core says complete', async () => {
  const frames = encodeOpusFrames(makeTestPcm(2, 300));
  let push: (packet: Uint8Array) => void = () => {};
  let stopped = false;
  const submitted: Uint8Array[] = [];
  const session = new RecordingSession({
    open: async (onPacket) => {
      push = onPacket;
      return {
        stop: () => {
          stopped = true;
        },
      };
    },
    submitClip: async (wav) => {
      submitted.push(wav);
      return stored(submitted.length * 0.9, 1.5, submitted.length === 2);
    },
    targetSeconds: 1.5,
    clipPackets: 50,
    timeoutMs: 10_000,
  });
  const states: RecordingStatus[] = [];
  session.on('stateChange', (_old, next) => states.push(next.status));
  await session.start();
  assert.equal(session.state.status, 'recording');
  for (const frame of frames) {
    push(frame);
    push(SILENCE); // silence frames are not speech and never enter a clip
  }
  const result = await session.ended;
  assert.deepEqual(states, ['joining', 'recording', 'judging', 'done']);
  assert.equal(result.state, 'done');
  assert.equal(submitted.length, 2, 'the sample completed after two clips; the rest was not sent');
  assert.ok(stopped, 'receiving stopped');
  const first = decodeWav(submitted[0]!);
  assert.ok(Math.abs(first.samples.length / first.sampleRate - 1) < 0.01, '50 packets = 1 s');
  assert.equal(session.progress().netSeconds, 1, 'progress never shows more than the core accepted (floored)');
});

test('RecordingSession: a refused clip is reported and recording goes on; timeout judges the rest; cancel discards it', async () => {
  const frames = encodeOpusFrames(makeTestPcm(1, 300));
  let push: (packet: Uint8Array) => void = () => {};
  const outcomes: ClipOutcome[] = [];
  const refused = {
    kind: 'refused',
    verdict: { accepted: false, netSpeechSeconds: 0, targetSpeechSeconds: 60, problems: [{ code: 'too_quiet', figures: { levelDb: -50 } }] },
  } as unknown as ClipOutcome;
  let calls = 0;
  const session = new RecordingSession({
    open: async (onPacket) => {
      push = onPacket;
      return { stop() {} };
    },
    submitClip: async () => (++calls === 1 ? refused : stored(0.5, 60, false)),
    targetSeconds: 60,
    clipPackets: 30,
    minClipPackets: 5,
    timeoutMs: 300,
  });
  session.on('clip', (o) => outcomes.push(o));
  await session.start();
  for (const frame of frames) push(frame);
  const result = await session.ended;
  assert.equal(result.state, 'failed');
  assert.equal(result.reason, 'timeout');
  assert.equal(outcomes[0]?.kind, 'refused');
  assert.equal(outcomes.length, 2, 'one refused batch of 30, then the 20-packet tail judged at the timeout');

  let cancelCalls = 0;
  const cancelled = new RecordingSession({
    open: async (onPacket) => {
      push = onPacket;
      return { stop() {} };
    },
    submitClip: async () => {
      cancelCalls++;
      return stored(1, 60, false);
    },
    targetSeconds: 60,
    clipPackets: 1000,
    timeoutMs: 10_000,
  });
  await cancelled.start();
  for (const frame of frames) push(frame);
  const end = await cancelled.stop('cancelled');
  assert.equal(end.state, 'cancelled');
  assert.equal(cancelCalls, 0, 'a cancel sends nothing more to the core');
});

test('RecordingSession: a failed join ends in failed, and stop before start cancels', async () => {
  const broken = new RecordingSession({
    open: async () => {
      throw new Error('no voice');
    },
    submitClip: async () => stored(0, 1, false),
    targetSeconds: 1,
    timeoutMs: 1000,
  });
  await broken.start();
  assert.equal((await broken.ended).state, 'failed');
  const early = new RecordingSession({ open: async () => ({ stop() {} }), submitClip: async () => stored(0, 1, false), targetSeconds: 1, timeoutMs: 1000 });
  assert.equal((await early.stop('cancelled')).state, 'cancelled');
});

test('receivePackets subscribes to one user only and resubscribes when the stream errors', async () => {
  const subscriptions: Array<{ userId: string; stream: PassThrough }> = [];
  const receiver = new (class extends EventEmitter {
    readonly speaking = { users: new Map<string, number>() };
    readonly map = new Map<string, PassThrough>();
    subscribe(userId: string): Readable {
      const existing = this.map.get(userId);
      if (existing) return existing;
      const stream = new PassThrough({ objectMode: true });
      stream.once('close', () => this.map.delete(userId));
      this.map.set(userId, stream);
      subscriptions.push({ userId, stream });
      return stream;
    }
  })();
  const got: number[] = [];
  const sub = receivePackets(
    receiver,
    'u1',
    (p) => got.push(p[0] ?? -1),
    () => assert.fail('not unreceivable'),
    { stallMs: 1_000 },
  );
  subscriptions[0]!.stream.write(Buffer.from([1]));
  subscriptions[0]!.stream.destroy(new Error('decrypt failed'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(subscriptions.length, 2);
  assert.equal(sub.resubscribes, 1);
  subscriptions[1]!.stream.write(Buffer.from([2]));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(got, [1, 2]);
  assert.ok(subscriptions.every((s) => s.userId === 'u1'));
  sub.stop();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(subscriptions.length, 2, 'no resubscription after stop');
  assert.ok(subscriptions[1]!.stream.destroyed);
});

test('command definitions: all commands, Chinese localisations, admin-only /consent, bounded /speak text', () => {
  const defs = commandDefinitions({ adminRoleConfigured: false });
  assert.deepEqual(
    defs.map((d) => d.name),
    ['clone', 'speak', 'stop', 'voice', 'consent', 'verify'],
  );
  for (const d of defs) {
    assert.ok(d.description.length > 0 && d.description.length <= 100);
    assert.ok(d.description_localizations?.['zh-CN']);
  }
  const consent = defs.find((d) => d.name === 'consent')!;
  assert.equal(consent.default_member_permissions, String(1 << 5), 'Manage Server');
  assert.equal(commandDefinitions({ adminRoleConfigured: true }).find((d) => d.name === 'consent')!.default_member_permissions, undefined);
  const speak = defs.find((d) => d.name === 'speak')!;
  const textOption = speak.options?.find((o) => o.name === 'text') as { required?: boolean; max_length?: number } | undefined;
  assert.equal(textOption?.required, true);
  assert.deepEqual(parseButtonId(buttonId('agree', 'c_abc123')), { action: 'agree', id: 'c_abc123' });
  assert.equal(parseButtonId('vocalis:agree:../x'), null);
});

test('the Chinese Discord catalogue has every English key, with the same placeholders', () => {
  const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const [key, value] of Object.entries(en)) {
    const other = (zh as Record<string, string>)[key] ?? '';
    assert.ok(other.length > 0, key);
    assert.deepEqual(placeholders(other), placeholders(value), key);
  }
});

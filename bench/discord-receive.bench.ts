// The Discord voice-channel receive path (src/bots/discord: received-frame, clip-cutter,
// recording-session, packet-receiver). Figures: how reliably a frame left under DAVE's
// end-to-end encryption is told from Opus (real davey frames from the fake voice server's member
// client; real speech), what reading a frame and a second of speech costs, where a flite-read
// consent statement is cut (one piece, at the pause) against the fixed clip length, and how long
// a member whose packets arrive but never become audio waits to be told.
import { EventEmitter } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { DEFAULT_CLONE_TIMINGS } from '../src/bots/discord/clone-flow.ts';
import { ClipCutter, DEFAULT_CUT_RULES } from '../src/bots/discord/clip-cutter.ts';
import { receivePackets } from '../src/bots/discord/packet-receiver.ts';
import { FrameReader, isE2eeFrame } from '../src/bots/discord/received-frame.ts';
import { RecordingSession } from '../src/bots/discord/recording-session.ts';
import { readingScript } from '../src/consent/reading-script.ts';
import type { ClipOutcome } from '../src/core/vocalis.ts';
import { speechFrames } from '../test/bots/discord/harness.ts';
import { fliteFrames } from '../test/bots/discord/member-audio.ts';
import { joinFakeVoiceChannel, loginTestClient } from '../test/fakes/discord/discord-test-client.ts';
import { startFakeDiscord } from '../test/fakes/discord/index.ts';
import { encodeOpusFrames } from '../test/fakes/discord/opus-fixtures.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

const SPEAKERS = ['3331', '3005', '1688'];

/** Real DAVE frames: the fake voice server's member client (davey) encrypting real speech. */
async function daveFrames(plain: readonly Buffer[]): Promise<Buffer[]> {
  const discord = await startFakeDiscord();
  const client = await loginTestClient(discord);
  const connection = await joinFakeVoiceChannel(discord, client);
  try {
    const alice = discord.addMember('alice', { inVoice: true });
    const dave = await discord.voice.waitForDave(alice.id);
    const member = dave.member(alice.id)!;
    return plain.map((frame) => member.encrypt(frame));
  } finally {
    connection.destroy();
    await client.destroy();
    await discord.close();
  }
}

function stored(): ClipOutcome {
  return {
    kind: 'stored',
    clipId: 'c',
    complete: false,
    verdict: { accepted: false, netSpeechSeconds: 0, targetSpeechSeconds: 1e9, problems: [] },
  } as unknown as ClipOutcome;
}

const suite: BenchSuite = {
  name: 'Discord voice-channel receive path (frames, the consent reading, unreceivable members)',
  async run() {
    const plain: Buffer[] = [];
    for (const speaker of SPEAKERS) plain.push(...(await speechFrames(speaker, 60)));
    const encrypted = await daveFrames(plain.slice(0, 3000));
    const detected = encrypted.filter((f) => isE2eeFrame(f)).length;
    const falseFlags = plain.filter((f) => isE2eeFrame(f)).length;

    const reader = new FrameReader();
    const readStarted = performance.now();
    for (const frame of plain) reader.read(frame);
    const readUs = ((performance.now() - readStarted) * 1000) / plain.length;

    // A whole session on 60 s of speech pushed at once: read, cut into 12 s clips, WAV-encode.
    let push: (p: Uint8Array) => void = () => {};
    const session = new RecordingSession({
      open: async (onPacket) => {
        push = onPacket;
        return { stop() {} };
      },
      submitClip: async () => stored(),
      targetSeconds: 1e9,
      timeoutMs: 600_000,
      clipPackets: 600,
    });
    await session.start();
    const sessionFrames = plain.slice(0, 3000);
    const sessionStarted = performance.now();
    for (const frame of sessionFrames) push(frame);
    const sessionMsPerSecond = (performance.now() - sessionStarted) / (sessionFrames.length * 0.02);
    await session.stop('cancelled');

    // The consent statement read by flite, a 1 s pause, then the script: where is the reading cut?
    const script = readingScript('en', 'amber falcon seven lantern').sentences;
    const statement = await fliteFrames('slt', script[0]!);
    const rest = await fliteFrames('slt', script.slice(1, 6).join(' '));
    const silence = encodeOpusFrames(new Int16Array(50 * 960 * 2));
    const cutter = new ClipCutter({ clipFrames: 600, ...DEFAULT_CUT_RULES }, 'reading');
    const reader2 = new FrameReader();
    let readingSeconds = Number.NaN;
    for (const frame of [...statement, ...silence, ...rest]) {
      const f = reader2.read(frame);
      if (f.kind !== 'speech') continue;
      const clip = cutter.push(f.pcm, f.quiet);
      if (clip) {
        readingSeconds = clip.frames * 0.02;
        break;
      }
    }

    // A member whose packets arrive (the receiver marks them speaking) and never come out.
    const receiver = new (class extends EventEmitter {
      readonly speaking = { users: new Map<string, number>([['u', Date.now()]]) };
      subscribe(): Readable {
        return new PassThrough({ objectMode: true });
      }
    })();
    const toldMs = await new Promise<number>((resolve) => {
      const started = performance.now();
      receivePackets(
        receiver,
        'u',
        () => {},
        () => resolve(performance.now() - started),
        { stallMs: DEFAULT_CLONE_TIMINGS.receiveStallMs },
      );
    });

    const figures: BenchFigure[] = [
      { metric: `real DAVE frames (davey) told from Opus, of ${encrypted.length}`, value: (100 * detected) / encrypted.length, unit: '%', target: '100' },
      { metric: `real speech frames taken for DAVE ones, of ${plain.length}`, value: falseFlags, unit: 'frames', target: '0' },
      { metric: 'read one 20 ms frame (classify + Opus decode)', value: readUs, unit: 'µs' },
      { metric: 'session cost per second of speech (read, cut, WAV)', value: sessionMsPerSecond, unit: 'ms' },
      { metric: 'flite statement length', value: statement.length * 0.02, unit: 's' },
      { metric: 'reading clip cut at the pause', value: readingSeconds, unit: 's', target: '≥ statement; script clips are 12 s' },
      { metric: 'member unreceivable: told after (default stall)', value: toldMs, unit: 'ms', target: `≤ ${DEFAULT_CLONE_TIMINGS.receiveStallMs + 500}` },
    ];
    return figures;
  },
};

export default suite;

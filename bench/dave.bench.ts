// DAVE end-to-end encryption on the hermetic Discord: the real @discordjs/voice 0.19 (with
// @snazzah/davey) against the fake voice server's MLS group and simulated members. Figures: how
// long a group takes to form and to change epoch, what E2EE costs per 20 ms frame, and how many
// of a speaking member's frames the bot's receiver loses per epoch change (as is, and with the
// commit reaching the bot 300 ms late, discord.js #11441's window).
import { once } from 'node:events';
import { EndBehaviorType, type VoiceConnection } from '@discordjs/voice';
import { startFakeDiscord, type FakeDiscord } from '../test/fakes/discord/index.ts';
import { joinFakeVoiceChannel, loginTestClient } from '../test/fakes/discord/discord-test-client.ts';
import { encodeOpusFrames, makeTestPcm } from '../test/fakes/discord/opus-fixtures.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

const EPOCH_CHANGES = 10;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Frames of `userId` the bot's receiver delivers while `during` runs as the member speaks 2 s. */
async function framesDelivered(
  discord: FakeDiscord,
  connection: VoiceConnection,
  userId: string,
  frames: readonly Buffer[],
  during: () => void,
): Promise<number> {
  const stream = connection.receiver.subscribe(userId, { end: { behavior: EndBehaviorType.Manual } });
  let delivered = 0;
  stream.on('data', () => delivered++);
  const sending = discord.voice.sendAudio(userId, frames);
  setTimeout(during, 600);
  await sending;
  await new Promise((resolve) => setTimeout(resolve, 150));
  const closed = once(stream, 'close');
  stream.destroy();
  await closed;
  await discord.voice.waitForDave(userId);
  return delivered;
}

const suite: BenchSuite = {
  name: 'DAVE end-to-end encryption (fake voice server, @discordjs/voice + davey)',
  async run() {
    const discord = await startFakeDiscord();
    const client = await loginTestClient(discord);
    const connection = await joinFakeVoiceChannel(discord, client);
    try {
      const formStarted = performance.now();
      const alice = discord.addMember('alice', { inVoice: true });
      await discord.voice.waitForDave(alice.id);
      const formMs = performance.now() - formStarted;

      const changes: number[] = [];
      for (let i = 0; i < EPOCH_CHANGES; i++) {
        const started = performance.now();
        const member = discord.addMember(`m${i}`, { inVoice: true });
        await discord.voice.waitForDave(member.id);
        changes.push(performance.now() - started);
        discord.setMemberVoiceChannel(member.id, null);
        await discord.voice.waitForDave();
      }

      const speech = encodeOpusFrames(makeTestPcm(2, 300));
      const dave = discord.voice.dave()!;
      let lostPlain = 0;
      for (let i = 0; i < 3; i++)
        lostPlain += speech.length - (await framesDelivered(discord, connection, alice.id, speech, () => discord.addMember(`x${i}`, { inVoice: true })));
      dave.botDeliveryDelayMs = 300;
      let lostLate = 0;
      for (let i = 0; i < 3; i++) lostLate += speech.length - (await framesDelivered(discord, connection, alice.id, speech, () => dave.rekeyMember(alice.id)));
      dave.botDeliveryDelayMs = 0;

      const member = dave.member(alice.id)!;
      const encryptStarted = performance.now();
      const sealed = speech.map((frame) => member.encrypt(frame));
      const encryptUs = ((performance.now() - encryptStarted) * 1000) / speech.length;
      const overhead = sealed.reduce((sum, frame, i) => sum + frame.length - speech[i]!.length, 0) / speech.length;

      const figures: BenchFigure[] = [
        { metric: 'group formed (bot + 1 member)', value: formMs, unit: 'ms' },
        { metric: `epoch change, median of ${EPOCH_CHANGES} joins`, value: median(changes), unit: 'ms' },
        { metric: 'epoch change, slowest', value: Math.max(...changes), unit: 'ms' },
        { metric: 'member frames lost per epoch change', value: lostPlain / 3, unit: 'frames', target: '0 (20 ms each)' },
        { metric: 'lost per change, commit 300 ms late', value: lostLate / 3, unit: 'frames' },
        { metric: 'E2EE encrypt per 20 ms frame (davey)', value: encryptUs, unit: 'µs' },
        { metric: 'E2EE bytes added per frame', value: overhead, unit: 'bytes' },
      ];
      return figures;
    } finally {
      connection.destroy();
      await client.destroy();
      await discord.close();
    }
  },
};

export default suite;

// What a fake member sends into the voice channel beyond the fake voice server's own
// sendAudio: a flite voice reading text as 20 ms Opus frames, and raw RTP packets that the
// bot's receiver sees arrive but cannot turn into audio (the shapes of discord.js #11445).
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { decodeAudio } from '../../../src/engine/audio/decode.ts';
import type { FakeDiscord } from '../../fakes/discord/index.ts';
import { encodeOpusFrames } from '../../fakes/discord/opus-fixtures.ts';
import { sealOpusPacket } from '../../fakes/discord/voice/rtp-crypto.ts';
import { fliteWav, type FliteVoice } from '../../support/spoken-audio.ts';

/** A flite voice reading `text`, as stereo 48 kHz 20 ms Opus frames. */
export async function fliteFrames(voice: FliteVoice, text: string): Promise<Buffer[]> {
  const pcm = await decodeAudio(fliteWav(voice, text), { sampleRate: 48_000 });
  const stereo = new Int16Array(pcm.samples.length * 2);
  for (let i = 0; i < pcm.samples.length; i++) {
    const v = Math.max(-32768, Math.min(32767, Math.round((pcm.samples[i] ?? 0) * 32767)));
    stereo[2 * i] = v;
    stereo[2 * i + 1] = v;
  }
  return encodeOpusFrames(stereo);
}

export type BrokenPacket =
  /** Sealed with a key the bot does not have: the transport decryption fails on every packet. */
  | 'wrong_key'
  /** A payload type other than Opus: the receiver marks the member speaking, then drops the packet without an error. */
  | 'not_opus';

/**
 * Sends `count` packets from `userId`'s ssrc to the bot, one every 20 ms, that arrive
 * at the bot's receiver but never come out as audio. The member's SPEAKING (op 5) is sent
 * first, as Discord does, so the receiver knows whose packets they are.
 */
export async function sendBrokenPackets(
  discord: FakeDiscord,
  userId: string,
  kind: BrokenPacket,
  count: number,
  opus: readonly Buffer[],
  onFirstPacket: () => void = () => {},
): Promise<void> {
  await discord.voice.sendAudio(userId, [], { leadInMs: 50 });
  const session = discord.voice.server.activeSession(discord.guild.id);
  const address = session?.botAddress;
  if (!session?.secretKey || !address) throw new Error('no active voice session to send to');
  const key = kind === 'wrong_key' ? randomBytes(32) : session.secretKey;
  const socket = createSocket('udp4');
  try {
    const fields = { ssrc: discord.voice.server.ssrcOf(userId), sequence: 1000, timestamp: 48_000 };
    for (let i = 0; i < count; i++) {
      const packet = sealOpusPacket(fields, opus[i % opus.length]!, key, 70_000 + i);
      if (kind === 'not_opus') packet[1] = 0x60;
      socket.send(packet, address.port, address.address);
      if (i === 0) onFirstPacket();
      fields.sequence = (fields.sequence + 1) & 0xffff;
      fields.timestamp += 960;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    socket.close();
  }
}

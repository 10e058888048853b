// Proves the DAVE side of the fake voice server against the real @discordjs/voice 0.19 and
// @snazzah/davey: negotiation, the MLS group with simulated members, end-to-end encrypted audio
// both ways, epoch changes, a failed transition and its recovery, and the receive-path edges
// reported upstream (discord.js #11445, #11441).
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import {
  AudioPlayerStatus,
  EndBehaviorType,
  StreamType,
  VoiceConnectionStatus,
  createAudioPlayer,
  createAudioResource,
  entersState,
  joinVoiceChannel,
  type VoiceConnection,
} from '@discordjs/voice';
import type { Client } from 'discord.js';
import { eventually } from '../../support/runtime-fixture.ts';
import { startFakeDiscord, isSilenceFrame, type FakeDiscord, type FakeUser } from './index.ts';
import { loginTestClient } from './discord-test-client.ts';
import { encodeOpusFrames, makeTestPcm } from './opus-fixtures.ts';
import { isDaveFrame } from './voice/dave-member.ts';
import { DaveOp } from './voice/voice-opcodes.ts';

const UNANNOUNCED_MEMBER = fileURLToPath(new URL('./fixtures/dave-unannounced-member.ts', import.meta.url));

/** Reads Opus packets from a receive stream until `ms` after `done` settles. */
async function collect(stream: Readable, done: Promise<unknown>, ms: number): Promise<Buffer[]> {
  const packets: Buffer[] = [];
  stream.on('data', (packet: Buffer) => packets.push(packet));
  await done;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return packets;
}

/**
 * Destroys a receive stream and waits for its 'close': until then the receiver keeps it, and
 * subscribe() for the same user hands back the destroyed stream.
 */
async function closed(stream: Readable): Promise<void> {
  const done = once(stream, 'close');
  stream.destroy();
  await done;
}

/**
 * Asserts two lists of Opus frames are byte-identical, in order. (deepEqual's diff of a hundred
 * mismatching Buffers takes minutes; this names the first difference instead.)
 */
function assertSameFrames(actual: readonly Buffer[], expected: readonly Buffer[], what: string): void {
  const first = expected.findIndex((frame, i) => !actual[i]?.equals(frame));
  assert.ok(actual.length === expected.length && first === -1, `${what}: ${actual.length} frames of ${expected.length}, first difference at ${first}`);
}

function memberNamed(discord: FakeDiscord, username: string): FakeUser {
  const user = [...discord.state.members.values()].find((u) => u.username === username);
  if (!user) throw new Error(`no member ${username}`);
  return user;
}

/** The library's own DAVE session of a connection (what it encrypts and decrypts with). */
interface LibraryDave {
  readonly protocolVersion: number;
  readonly lastTransitionId?: number;
  readonly pendingTransitions: ReadonlyMap<number, number>;
  readonly session?: { readonly ready: boolean; readonly epoch: bigint | null; readonly voicePrivacyCode: string };
}

function libraryDave(connection: VoiceConnection): LibraryDave | undefined {
  const state = connection.state;
  if (state.status !== VoiceConnectionStatus.Ready) return undefined;
  return Reflect.get(state.networking.state, 'dave') as LibraryDave | undefined;
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

  test("negotiates DAVE v1: external sender (op 25) and the bot's key package (op 26); alone, the bot stays pending and sends plain Opus", async () => {
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
    assert.ok(
      audio.every((f) => f.e2ee === 'plain'),
      'no group yet: the library passes Opus through',
    );
  });

  test('a member joins: the bot commits, the member is welcomed, and the member decrypts every frame the bot plays', async (t) => {
    const alice = discord.addMember('alice', { inVoice: true });
    const dave = await discord.voice.waitForDave(alice.id);
    assert.equal(dave.epoch, 1n);
    assert.deepEqual(dave.groupMembers, [discord.botUserId, alice.id], 'the bot committed (leaf 0), alice was added');
    const member = dave.member(alice.id)!;
    assert.equal(member.ownLeafIndex, 1);
    assert.equal(libraryDave(connection)?.session?.ready, true);
    const executed = dave.events.entries.findLast((e) => e.type === 'transition-executed');
    const executedId = executed?.type === 'transition-executed' ? executed.transitionId : -1;
    // op 22 is on its way when the fake logs the execution: the library takes it a moment later.
    await eventually(() => libraryDave(connection)?.lastTransitionId === executedId, 5_000, 'the library to execute the transition (op 22)');
    assert.equal(libraryDave(connection)?.pendingTransitions.size, 0);
    assert.equal(member.voicePrivacyCode, libraryDave(connection)?.session?.voicePrivacyCode, 'same epoch secrets on both sides');
    assert.equal(await member.verificationCode(discord.botUserId), await connection.getVerificationCode(alice.id), 'same pairwise code on both sides');

    const start = discord.voice.frames().length;
    const frames = encodeOpusFrames(makeTestPcm(2, 523));
    await play(connection, frames);
    await discord.voice.waitForFrames(start + frames.length, { filter: () => true });
    const audio = discord.voice
      .frames()
      .slice(start)
      .filter((f) => !isSilenceFrame(f.opus));
    assert.equal(audio.length, frames.length);
    assert.ok(
      audio.every((f) => f.e2ee === 'decrypted'),
      'every audio frame came end-to-end encrypted',
    );
    assertSameFrames(
      audio.map((f) => f.opus),
      frames,
      'and decrypts to exactly what was played',
    );
    assert.equal(discord.voice.server.stats.e2eeFailures, 0);
    assert.equal(discord.voice.server.stats.plainInGroup, 0);
    await t.annotate(`epoch ${dave.epoch}, ${audio.length} frames decrypted by the member, ${member.stats.decryptFailures} failures`);
  });

  test("the member's E2EE speech reaches the bot's receiver decrypted, byte-identical", async () => {
    const alice = memberNamed(discord, 'alice');
    const frames = encodeOpusFrames(makeTestPcm(1, 330));
    const stream = connection.receiver.subscribe(alice.id, { end: { behavior: EndBehaviorType.Manual } });
    const encryptedBefore = discord.voice.dave()!.member(alice.id)!.stats.encrypted;
    const packets = await collect(stream, discord.voice.sendAudio(alice.id, frames), 150);
    await closed(stream);
    assert.equal(discord.voice.dave()!.member(alice.id)!.stats.encrypted - encryptedBefore, frames.length, 'the member encrypted every frame');
    assertSameFrames(packets, frames, 'the library decrypted every frame');
  });

  test('members join and leave mid-playback: each epoch change re-keys the bot, and the members still decrypt every frame', async (t) => {
    const alice = memberNamed(discord, 'alice');
    const dave = discord.voice.dave()!;
    const epochBefore = dave.epoch;
    const start = discord.voice.frames().length;
    const frames = encodeOpusFrames(makeTestPcm(3, 600));
    const playing = play(connection, frames);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const bob = discord.addMember('bob', { inVoice: true });
    await discord.voice.waitForDave(bob.id);
    await new Promise((resolve) => setTimeout(resolve, 500));
    discord.setMemberVoiceChannel(alice.id, null);
    await discord.voice.waitForDave();
    await playing;
    await discord.voice.waitForFrames(start + frames.length, { filter: () => true });
    const audio = discord.voice
      .frames()
      .slice(start)
      .filter((f) => !isSilenceFrame(f.opus));
    assert.equal(dave.epoch, epochBefore + 2n, 'one epoch for the join, one for the leave');
    assert.deepEqual(dave.groupMembers, [discord.botUserId, bob.id]);
    assert.equal(audio.length, frames.length, 'no frame lost');
    assert.ok(audio.every((f) => f.e2ee === 'decrypted'));
    assertSameFrames(
      audio.map((f) => f.opus),
      frames,
      'the members decrypt exactly what was played',
    );
    assert.equal(discord.voice.server.stats.e2eeFailures, 0);
    assert.equal(discord.voice.analyze(discord.voice.frames().slice(start)).sequenceGaps, 0);
    await t.annotate(
      `epochs ${epochBefore} → ${dave.epoch}; bob decrypted ${dave.member(bob.id)!.stats.decrypted} frames, ${dave.member(bob.id)!.stats.decryptFailures} failures`,
    );
  });

  test('a member speaking through an epoch change: what the library delivers', async (t) => {
    const bob = memberNamed(discord, 'bob');
    const frames = encodeOpusFrames(makeTestPcm(2, 300));
    const stream = connection.receiver.subscribe(bob.id, { end: { behavior: EndBehaviorType.Manual } });
    // One frame every 40 ms keeps a stall of the loaded CPU under the library's 36-failure tolerance.
    const sending = discord.voice.sendAudio(bob.id, frames, { intervalMs: 40 });
    setTimeout(() => discord.addMember('carol', { inVoice: true }), 1_200);
    const packets = await collect(stream, sending, 150);
    await closed(stream);
    await discord.voice.waitForDave();
    const lost = frames.length - packets.length;
    assert.ok(
      packets.every((p) => !isDaveFrame(p)),
      'nothing still encrypted reaches the stream',
    );
    // The window is the time the bot takes to get and process op 29 after the members switched:
    // a few ms, hundreds on a loaded CPU; never the 37 failures in a row that make the library re-initialise.
    assert.ok(lost <= 36, `${lost} of ${frames.length} frames lost across the epoch change`);
    await t.annotate(
      `${lost} of ${frames.length} frames lost across one epoch change (members switch keys when the server relays the commit; the bot a few ms later)`,
    );
  });

  test('discord.js #11441 widened: the commit reaches the bot 200 ms after the members switched keys; the frames of that window are dropped silently, then audio resumes', async (t) => {
    const bob = memberNamed(discord, 'bob');
    const dave = discord.voice.dave()!;
    const frames = encodeOpusFrames(makeTestPcm(2, 300));
    const stream = connection.receiver.subscribe(bob.id, { end: { behavior: EndBehaviorType.Manual } });
    let streamError: unknown;
    stream.on('error', (error) => (streamError = error));
    dave.botDeliveryDelayMs = 200;
    // One frame every 60 ms: even a second of stall on a loaded CPU stays under the library's 36-failure tolerance.
    const sending = discord.voice.sendAudio(bob.id, frames, { intervalMs: 60 });
    setTimeout(() => dave.rekeyMember(bob.id), 1_800);
    const packets = await collect(stream, sending, 150);
    dave.botDeliveryDelayMs = 0;
    await closed(stream);
    await discord.voice.waitForDave(bob.id);
    const lost = frames.length - packets.length;
    assert.equal(streamError, undefined, 'the stream is not destroyed');
    assert.ok(packets.every((p) => !isDaveFrame(p)));
    // At least the window's 3 frames; fewer than the library's tolerance of 36 failures in a row (past it, it re-initialises).
    assert.ok(lost >= 3 && lost <= 36, `${lost} frames lost in a 200 ms window`);
    assertSameFrames(packets.slice(-20), frames.slice(-20), 'audio resumes with the new key');
    await t.annotate(`${lost} of ${frames.length} frames dropped without an error while the bot lacked the new key (200 ms)`);
  });

  test('a corrupted commit (op 29): the library answers op 31, re-initialises and is removed and re-added; E2EE audio flows again', async (t) => {
    const bob = memberNamed(discord, 'bob');
    const dave = discord.voice.dave()!;
    const invalidBefore = dave.stats.invalidCommitWelcomes;
    const t0 = Date.now();
    dave.tamperNextToBot = 'commit';
    dave.rekeyMember(bob.id);
    const invalid = await dave.events.waitFor((e) => e.type === 'invalid-commit-welcome' && e.userId === discord.botUserId && e.at >= t0, 5_000);
    assert.ok(invalid.type === 'invalid-commit-welcome' && invalid.transitionId > 0, 'op 31 names the failed transition');
    await discord.voice.server.received.waitFor((p) => p.op === DaveOp.MlsKeyPackage && p.at >= invalid.at, 5_000);
    await discord.voice.waitForDave(bob.id);
    assert.equal(dave.stats.invalidCommitWelcomes, invalidBefore + 1);
    assert.equal(libraryDave(connection)?.session?.ready, true, 'the bot is back in the group');

    const start = discord.voice.frames().length;
    const frames = encodeOpusFrames(makeTestPcm(0.5, 700));
    await play(connection, frames);
    await discord.voice.waitForFrames(start + frames.length, { filter: () => true });
    const audio = discord.voice
      .frames()
      .slice(start)
      .filter((f) => !isSilenceFrame(f.opus));
    assert.ok(audio.length === frames.length && audio.every((f) => f.e2ee === 'decrypted'));
    const stream = connection.receiver.subscribe(bob.id, { end: { behavior: EndBehaviorType.Manual } });
    const packets = await collect(stream, discord.voice.sendAudio(bob.id, frames), 150);
    await closed(stream);
    assertSameFrames(packets, frames, 'and the bot decrypts the member again');
    await t.annotate(`op 31 for transition ${invalid.transitionId}; epoch now ${dave.epoch}, members ${dave.groupMembers.length}`);
  });

  test("the bot joins by welcome when a member's commit wins (op 24 re-creates the group)", async () => {
    const bob = memberNamed(discord, 'bob');
    const dave = discord.voice.dave()!;
    dave.committer = 'member';
    try {
      const seen = discord.voice.server.received.entries.length;
      dave.recreateGroup();
      await discord.voice.server.received.waitFor((p) => p.op === DaveOp.MlsKeyPackage && discord.voice.server.received.entries.indexOf(p) >= seen, 5_000);
      await discord.voice.waitForDave(bob.id);
      assert.equal(dave.epoch, 1n);
      assert.notEqual(dave.groupMembers[0], discord.botUserId, 'a member created the group');
      assert.ok(
        dave.events.find((e) => e.type === 'ignored-commit' && e.from === discord.botUserId),
        "the bot's own commit lost the race",
      );
    } finally {
      dave.committer = 'bot';
    }
    const stream = connection.receiver.subscribe(bob.id, { end: { behavior: EndBehaviorType.Manual } });
    const frames = encodeOpusFrames(makeTestPcm(0.5, 400));
    const packets = await collect(stream, discord.voice.sendAudio(bob.id, frames), 150);
    await closed(stream);
    assertSameFrames(packets, frames, 'the bot, welcomed, decrypts the member');
  });

  test('discord.js #11445: plain frames from a member after DAVE was negotiated are dropped; past the failure tolerance the library re-initialises (op 31)', async (t) => {
    const bob = memberNamed(discord, 'bob');
    const dave = discord.voice.dave()!;
    const invalidBefore = dave.stats.invalidCommitWelcomes;
    const frames = encodeOpusFrames(makeTestPcm(1, 450));
    // The error the issue reports, from the library's own davey session (the library swallows it).
    const davey = libraryDave(connection)?.session as unknown as { decrypt(userId: string, mediaType: number, packet: Buffer): Buffer };
    assert.throws(() => davey.decrypt(bob.id, 0, frames[0]!), /DecryptionFailed\(UnencryptedWhenPassthroughDisabled\)/);
    const stream = connection.receiver.subscribe(bob.id, { end: { behavior: EndBehaviorType.Manual } });
    let streamError: unknown;
    stream.on('error', (error) => (streamError = error));
    const packets = await collect(stream, discord.voice.sendAudio(bob.id, frames, { unencrypted: true }), 300);
    await closed(stream);
    await discord.voice.waitForDave(bob.id);
    assert.equal(streamError, undefined, 'the stream is not destroyed');
    assert.equal(dave.stats.invalidCommitWelcomes, invalidBefore + 1, 'after 36 failures in a row the library recovers through op 31');
    const delivered = packets.length;
    assert.ok(delivered <= frames.length - 36, `${delivered} of ${frames.length} plain frames delivered`);
    await t.annotate(`${delivered} of ${frames.length} plain frames delivered; op 31 sent once`);
  });

  test("while the bot re-initialises after op 31, a member's E2EE frames reach the subscriber still encrypted (pinned library behaviour)", async (t) => {
    const bob = memberNamed(discord, 'bob');
    const dave = discord.voice.dave()!;
    const frames = encodeOpusFrames(makeTestPcm(1.2, 350));
    const t0 = Date.now();
    dave.tamperNextToBot = 'commit';
    dave.rekeyMember(bob.id);
    const invalid = await dave.events.waitFor((e) => e.type === 'invalid-commit-welcome' && e.userId === discord.botUserId && e.at >= t0, 5_000);
    // Hold the bot's re-admission back while bob speaks with the group's keys.
    dave.botDeliveryDelayMs = 600;
    const stream = connection.receiver.subscribe(bob.id, { end: { behavior: EndBehaviorType.Manual } });
    let packets: Buffer[];
    try {
      // The commit that re-adds the bot: bob applies it at once, the bot's welcome is 600 ms away.
      const seen = dave.events.entries.indexOf(invalid);
      await dave.events.waitFor((e) => e.type === 'commit' && dave.events.entries.indexOf(e) > seen, 5_000);
      packets = await collect(stream, discord.voice.sendAudio(bob.id, frames, { waitForDave: false }), 150);
    } finally {
      dave.botDeliveryDelayMs = 0;
      await closed(stream);
    }
    await discord.voice.waitForDave(bob.id);
    const stillEncrypted = packets.filter((p) => isDaveFrame(p)).length;
    const plain = packets.filter((p) => frames.some((f) => f.equals(p))).length;
    assert.ok(stillEncrypted > 0, 'DAVE ciphertext handed out as Opus');
    await t.annotate(
      `${stillEncrypted} DAVE-encrypted frames delivered as Opus, ${plain} decrypted, ${frames.length - packets.length} dropped, of ${frames.length}`,
    );
  });

  test("the bot sends with the new key as soon as it processes a commit, before op 22 (pinned): a member that applies the commit 1 s later cannot decrypt the bot's frames meanwhile", async (t) => {
    const bob = memberNamed(discord, 'bob');
    const dave = discord.voice.dave()!;
    await discord.voice.waitForDave(bob.id);
    const failuresBefore = discord.voice.server.stats.e2eeFailures;
    const start = discord.voice.frames().length;
    const frames = encodeOpusFrames(makeTestPcm(3, 500));
    dave.memberLagMs = 1_000;
    let executedAt = 0;
    try {
      const playing = play(connection, frames);
      await new Promise((resolve) => setTimeout(resolve, 600));
      const t0 = Date.now();
      dave.rekeyMember(bob.id);
      const executed = await dave.events.waitFor((e) => e.type === 'transition-executed' && e.at >= t0, 5_000);
      executedAt = executed.at - t0;
      await playing;
    } finally {
      dave.memberLagMs = 0;
    }
    await discord.voice.waitForDave(bob.id);
    const lost = discord.voice.server.stats.e2eeFailures - failuresBefore;
    const heard = discord.voice
      .frames()
      .slice(start)
      .filter((f) => !isSilenceFrame(f.opus)).length;
    assert.ok(lost >= 5, `${lost} frames no member could decrypt`);
    assert.equal(heard + lost, frames.length, 'every frame either decrypted or lost to the key switch');
    await t.annotate(
      `${lost} of ${frames.length} bot frames undecryptable by the members while they applied the commit 1 s late (op 22 sent ${executedAt} ms after the re-key, once they were ready)`,
    );
  });
});

describe('a proposal for a member the bot never saw in op 11 (pinned library failure)', () => {
  test("davey throws UnexpectedUser inside @discordjs/voice's WebSocket handler: an uncaught exception that ends the process", async () => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', UNANNOUNCED_MEMBER], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.match(stdout, /group formed/, stderr);
    assert.doesNotMatch(stdout, /survived/);
    assert.notEqual(code, 0);
    assert.match(stderr, /Failed to process proposals: UnexpectedUser/);
  });
});

describe('fake Discord voice without DAVE (transport encryption only, as before March 2026)', () => {
  test('dave_protocol_version 0: the library stays in pass-through and plain Opus flows both ways', async () => {
    const discord = await startFakeDiscord({ dave: false });
    const client = await loginTestClient(discord);
    const guild = client.guilds.cache.get(discord.guild.id)!;
    const connection = joinVoiceChannel({
      channelId: discord.guild.voiceChannelId,
      guildId: guild.id,
      adapterCreator: guild.voiceAdapterCreator,
      selfDeaf: false,
    });
    try {
      await entersState(connection, VoiceConnectionStatus.Ready, 10_000);
      const session = await discord.voice.waitForSession();
      assert.equal(session.dave, null);
      assert.equal(libraryDave(connection)?.protocolVersion, 0);
      const alice = discord.addMember('alice', { inVoice: true });
      const frames = encodeOpusFrames(makeTestPcm(0.5, 440));
      await play(connection, frames);
      const audio = (await discord.voice.waitForFrames(frames.length, { filter: (f) => !isSilenceFrame(f.opus) })).filter((f) => !isSilenceFrame(f.opus));
      assert.ok(audio.every((f) => f.e2ee === 'plain'));
      assertSameFrames(
        audio.map((f) => f.opus),
        frames,
        'played frames arrive unchanged',
      );
      const stream = connection.receiver.subscribe(alice.id, { end: { behavior: EndBehaviorType.Manual } });
      const packets = await collect(stream, discord.voice.sendAudio(alice.id, frames), 150);
      await closed(stream);
      assertSameFrames(packets, frames, 'received frames arrive unchanged');
      assert.equal(discord.voice.server.received.entries.filter((p) => p.op >= DaveOp.PrepareTransition).length, 0, 'no DAVE message either way');
    } finally {
      connection.destroy();
      await client.destroy();
      await discord.close();
    }
  });
});

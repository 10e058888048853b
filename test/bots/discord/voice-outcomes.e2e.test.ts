// Every /speak and /clone ends in one visible outcome when joining the voice channel fails
// (a join that never becomes ready is dropped and the next request joins afresh), and a
// voice channel is a voice channel by its type, whatever fields its payload carries.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { encodeWav } from '../../../src/engine/audio/wav.ts';
import { decodeAudioFile } from '../../../src/engine/audio/decode.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { ChannelType } from '../../fakes/discord/guild-state.ts';
import { OptionType, type CommandOption, type FakeUser, type Json } from '../../fakes/discord/index.ts';
import { eventually } from '../../support/runtime-fixture.ts';
import { speakerFiles } from '../../support/speech-data.ts';
import { contentOf, startHarness, waitForEdit, type Harness } from './harness.ts';

let h: Harness;
let dave: FakeUser;
let erin: FakeUser;
const logs: string[] = [];
const SECRET = 'marmalade kettles whistle';

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  h = await startHarness({
    logger: createLogger({ level: 'info', destination: sink }),
    tuning: { voiceReadyTimeoutMs: 1_500, idleLeaveMs: 30_000 },
  });
  dave = h.discord.addMember('dave', { inVoice: true });
  erin = h.discord.addMember('erin', { inVoice: true });
  // Dave already has a voice (made through the core, as if cloned earlier).
  const vocalis = h.fixture.runtime.vocalis;
  const identity = { platform: 'discord', platformUserId: dave.id };
  const offer = vocalis.offerConsent({ identity, language: 'en', context: { platform: 'discord', contextId: h.discord.guild.id } });
  vocalis.acceptConsent({ identity, consentId: offer.consent.id });
  for (const file of speakerFiles('3005').slice(0, 3)) {
    const pcm = await decodeAudioFile(file, { sampleRate: 16000 });
    const outcome = await vocalis.addClip({ identity, audio: encodeWav(pcm), cloneWhenComplete: false });
    if (outcome.kind === 'stored' && outcome.complete) break;
  }
});

afterAll(async () => {
  await h.close();
});

async function slash(name: string, userId: string, options: readonly CommandOption[] = []): Promise<{ id: string; content: string }> {
  const i = h.discord.dispatchInteraction({ kind: 'slash', name, userId, options });
  const response = await h.discord.waitForInteractionResponse(i.id);
  return { id: i.id, content: contentOf(response) };
}

const text = (value: string) => [{ name: 'text', type: OptionType.String, value }];

/** Voice joins the bot asked the gateway for (op 4 with a channel). */
function joins(): number {
  return h.discord.gateway.received.entries.filter((f) => f.op === 4 && typeof (f.d as Json)['channel_id'] === 'string').length;
}

/** Kicks the bot out of voice (4014) and waits until it has given the connection up. */
async function leaveVoice(): Promise<void> {
  const { discord } = h;
  if (discord.botVoiceChannelId() === null) return;
  discord.voice.disconnectBot(4014);
  await eventually(() => discord.botVoiceChannelId() === null, 5_000, 'the bot out of the channel');
  // After a 4014 the client waits 2 s for a move before it gives the connection up.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
}

async function idle(): Promise<void> {
  const guild = h.adapter.client.guilds.cache.get(h.discord.guild.id)!;
  await eventually(() => h.adapter.speech.queueOf(guild).state === 'idle', 10_000, 'an idle speech queue');
}

test('/speak with a join that never becomes ready: the notice says "could not join" and why; the next /speak joins afresh', async () => {
  const { discord } = h;
  discord.voice.stallJoins(true);
  const joinsBefore = joins();
  const failed = await slash('speak', dave.id, text(SECRET));
  assert.match(failed.content, /AI voice of/, 'the public notice went out');
  const edit = await waitForEdit(discord, failed.id, /could not join the voice channel/, 10_000);
  assert.match(contentOf(edit), /did not answer within \d+ s/);
  assert.equal(discord.interactions.webhookCalls.entries.filter((c) => c.interactionId === failed.id).length, 1, 'exactly one outcome');
  assert.ok(!discord.interactions.webhookCalls.entries.some((c) => /disconnected/.test(contentOf(c))), 'never "I was disconnected": it never connected');
  assert.equal(joins(), joinsBefore + 1);
  await idle();

  discord.voice.stallJoins(false);
  const start = discord.voice.frames().length;
  const again = await slash('speak', dave.id, text('hello again'));
  assert.match(again.content, /AI voice of/);
  await discord.voice.waitForFrames(start + 15, { timeoutMs: 10_000 });
  assert.equal(joins(), joinsBefore + 2, 'the failed connection was not reused: a new op 4');
  await idle();

  const logged = logs.join('');
  assert.match(logged, /"reason":"timeout".*could not join/);
  assert.ok(!logged.includes('marmalade'), 'no text in the logs');
});

test('/clone with a join that fails: "start reading" only after a join succeeded; otherwise "could not join"', async () => {
  const { discord } = h;
  // Leave the channel first so /clone has to join.
  await leaveVoice();
  discord.voice.stallJoins(true);
  await slash('clone', erin.id);
  const consentId = h.fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: erin.id }).consent?.id;
  const agree = discord.dispatchInteraction({ kind: 'button', customId: `vocalis:agree:${consentId}`, userId: erin.id });
  const failed = await waitForEdit(discord, agree.id, /could not join the voice channel/, 10_000);
  assert.ok(
    !discord.interactions.webhookCalls.entries.some((c) => c.interactionId === agree.id && /Read the script aloud/.test(contentOf(c))),
    'the member was never told to start reading',
  );
  assert.match(contentOf(failed), /did not answer/);

  discord.voice.stallJoins(false);
  const retriedAt = Date.now();
  const retry = await slash('clone', erin.id);
  assert.match(retry.content, /continue your sample/);
  const reading = await waitForEdit(discord, retry.id, /Read the script aloud/, 10_000);
  // Op 1 (select protocol) comes once the voice websocket is identified and UDP discovery is done.
  assert.ok(
    discord.voice.server.received.entries.some((e) => e.op === 1 && e.at >= retriedAt && e.at <= reading.at),
    'told to read only once the voice connection was up',
  );
  const stop = discord.dispatchInteraction({ kind: 'button', customId: `vocalis:stop:${erin.id}`, userId: erin.id });
  await discord.waitForInteractionResponse(stop.id);
  await eventually(() => h.adapter.clone.sessionOf(erin.id) === null, 10_000, 'the recording to end');
});

test('a voice channel whose payload lacks `bitrate` is still a voice channel: /speak plays in it', async () => {
  const { discord } = h;
  await idle();
  await leaveVoice();
  const bare = discord.state.addChannel(ChannelType.GuildVoice, 'Bare voice');
  const json = discord.state.channelJson(bare);
  delete json['bitrate'];
  discord.dispatch('CHANNEL_CREATE', json);
  discord.setMemberVoiceChannel(dave.id, bare.id);
  await eventually(
    () => h.adapter.client.guilds.cache.get(discord.guild.id)?.voiceStates.cache.get(dave.id)?.channelId === bare.id,
    5_000,
    'dave in the bare channel',
  );

  const start = discord.voice.frames().length;
  const reply = await slash('speak', dave.id, text('one two three four'));
  assert.match(reply.content, /AI voice of/);
  await discord.voice.waitForFrames(start + 15, { timeoutMs: 10_000 });
  assert.equal(discord.botVoiceChannelId(), bare.id);
  await idle();
  assert.ok(!discord.interactions.webhookCalls.entries.some((c) => c.interactionId === reply.id), 'played: the notice stays as it is');
});

test('a /speak whose playback fails before it even starts still ends visibly: the notice says why, the log says what', async () => {
  const { discord } = h;
  await idle();
  await leaveVoice();
  // A voice state that points at a channel the bot cannot speak in (here: the text channel)
  // makes playback fail synchronously, before the request has finished replying.
  discord.setMemberVoiceChannel(dave.id, discord.guild.textChannelId);
  await eventually(
    () => h.adapter.client.guilds.cache.get(discord.guild.id)?.voiceStates.cache.get(dave.id)?.channelId === discord.guild.textChannelId,
    5_000,
    'the odd voice state',
  );
  try {
    const reply = await slash('speak', dave.id, text(SECRET));
    assert.match(reply.content, /AI voice of/);
    const edit = await waitForEdit(h.discord, reply.id, /Not played: /, 5_000);
    assert.match(contentOf(edit), /Join a voice channel first/);
    await eventually(() => logs.join('').includes('"cause":"discord.voice.not_in_channel"'), 5_000, 'the cause in the log');
    assert.ok(!logs.join('').includes('marmalade'), 'no text in the logs');
  } finally {
    discord.setMemberVoiceChannel(dave.id, discord.guild.voiceChannelId);
  }
});

test('a join Discord refuses: the notice names the close code; 4014 fails at once, a code the client retries is given up when refused again', async () => {
  const { discord } = h;
  await idle();
  await leaveVoice();
  try {
    discord.voice.refuseJoins(4014);
    const kicked = await slash('speak', dave.id, text('one two three'));
    const sentAt = Date.now();
    const edit = await waitForEdit(discord, kicked.id, /could not join the voice channel/, 10_000);
    assert.match(contentOf(edit), /closed the voice connection \(code 4014\)/);
    assert.ok(edit.at - sentAt < 1_000, `4014 is final: no wait for the 1500 ms ready timeout (${edit.at - sentAt} ms)`);
    await idle();

    // 4017 (E2EE/DAVE required) makes the client rejoin at once; refused again, the join is given up
    // rather than looping and spending the gateway's 120 sends a minute.
    discord.voice.refuseJoins(4017);
    const joinsBefore = joins();
    const dave4017 = await slash('speak', dave.id, text('one two three'));
    assert.match(contentOf(await waitForEdit(discord, dave4017.id, /could not join the voice channel/, 10_000)), /\(code 4017\)/);
    await idle();
    assert.ok(joins() - joinsBefore <= 3, `${joins() - joinsBefore} voice joins for one request`);
    assert.match(logs.join(''), /"reason":"closed","closeCode":4017/);
  } finally {
    discord.voice.refuseJoins(null);
  }
  const start = discord.voice.frames().length;
  await slash('speak', dave.id, text('hello once more'));
  await discord.voice.waitForFrames(start + 15, { timeoutMs: 10_000 });
});

// The refusals and failure paths the issue lists, against the real client and the fake Discord.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { encodeWav } from '../../../src/engine/audio/wav.ts';
import { decodeAudioFile } from '../../../src/engine/audio/decode.ts';
import { isSilenceFrame, OptionType, type CommandOption, type FakeUser } from '../../fakes/discord/index.ts';
import { eventually } from '../../support/runtime-fixture.ts';
import { speakerFiles } from '../../support/speech-data.ts';
import { contentOf, startHarness, waitForEdit, type Harness } from './harness.ts';

let h: Harness;
let alice: FakeUser;
let bob: FakeUser;
let carol: FakeUser;
let dave: FakeUser;

beforeAll(async () => {
  h = await startHarness();
  alice = h.discord.addMember('alice', { inVoice: true });
  bob = h.discord.addMember('bob', { inVoice: true });
  carol = h.discord.addMember('carol');
  dave = h.discord.addMember('dave', { inVoice: true });
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
  assert.ok(vocalis.status(identity).voice?.currentVersion, 'dave has a preview voice');
});

afterAll(async () => {
  await h.close();
});

async function slash(
  name: string,
  userId: string,
  options: readonly CommandOption[] = [],
  locale?: string,
): Promise<{ id: string; content: string; ephemeral: boolean }> {
  const i = h.discord.dispatchInteraction({ kind: 'slash', name, userId, options, ...(locale ? { locale } : {}) });
  const response = await h.discord.waitForInteractionResponse(i.id);
  return { id: i.id, content: contentOf(response), ephemeral: (Number(response.data?.['flags'] ?? 0) & 64) === 64 };
}

const text = (value: string) => [{ name: 'text', type: OptionType.String, value }];

test('caller not in a voice channel: /clone and /speak say so, ephemerally, and nothing is offered', async () => {
  const clone = await slash('clone', carol.id);
  assert.match(clone.content, /Join a voice channel first/);
  assert.ok(clone.ephemeral);
  const speak = await slash('speak', carol.id, text('hello'));
  assert.match(speak.content, /Join a voice channel first/);
  assert.equal(h.fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: carol.id }).consent, null);
});

test('bot lacking Connect/Speak in the voice channel: refused before any consent is asked', async () => {
  const { discord } = h;
  const channel = discord.state.channelJson(discord.state.voiceChannel);
  const deny = ((1n << 20n) | (1n << 21n)).toString(); // Connect | Speak
  // Administrator overrides every overwrite: take it from @everyone first.
  const everyone = (discord.state.guildCreateJson()['roles'] as Array<Record<string, unknown>>)[0]!;
  const withoutAdmin = (BigInt(String(everyone['permissions'])) & ~(1n << 3n)).toString();
  discord.dispatch('GUILD_ROLE_UPDATE', { guild_id: discord.guild.id, role: { ...everyone, permissions: withoutAdmin } });
  discord.dispatch('CHANNEL_UPDATE', { ...channel, permission_overwrites: [{ id: discord.botUserId, type: 1, allow: '0', deny }] });
  await new Promise((resolve) => setTimeout(resolve, 100));
  try {
    const clone = await slash('clone', alice.id);
    assert.match(clone.content, /Connect and Speak permissions/);
    const speak = await slash('speak', dave.id, text('hello'));
    assert.match(speak.content, /Connect and Speak permissions/);
    assert.equal(h.fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: alice.id }).consent, null);
  } finally {
    discord.dispatch('CHANNEL_UPDATE', { ...channel, permission_overwrites: [] });
    discord.dispatch('GUILD_ROLE_UPDATE', { guild_id: discord.guild.id, role: everyone });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

test('two /clone at once: the second is refused; Cancel declines and nothing is recorded', async () => {
  const first = await slash('clone', alice.id);
  assert.ok(first.ephemeral);
  const second = await slash('clone', alice.id);
  assert.match(second.content, /already have a \/clone in progress/);
  const consentId = h.fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: alice.id }).consent?.id;
  assert.ok(consentId);
  const cancel = h.discord.dispatchInteraction({ kind: 'button', customId: `vocalis:cancel:${consentId}`, userId: alice.id });
  const answer = await h.discord.waitForInteractionResponse(cancel.id);
  assert.match(contentOf(answer), /Cancelled\. Nothing was recorded/);
  assert.equal(h.fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: alice.id }).consent, null);
  assert.equal(h.clips.length, 0);
  assert.equal(h.discord.botVoiceChannelId(), null, 'the bot never joined');
});

test('an uploaded 30 MB video is refused as too large, before consent and without downloading it', async () => {
  const big = h.discord.messages.addAttachment('holiday.mp4', Buffer.alloc(30 * 1024 * 1024), 'video/mp4');
  const downloadsBefore = h.discord.rest.requests.entries.filter((r) => r.route?.includes('attachments')).length;
  const clone = await slash('clone', alice.id, [{ name: 'file', type: OptionType.Attachment, value: big.id }]);
  assert.match(clone.content, /too large \(at most 25 MB\)/);
  assert.equal(h.fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: alice.id }).consent, null);
  const downloadsAfter = h.discord.rest.requests.entries.filter((r) => r.route?.includes('attachments')).length;
  assert.equal(downloadsAfter, downloadsBefore);
});

test('/speak with no voice, with 2,000 characters, and in Chinese', async () => {
  const none = await slash('speak', bob.id, text('hello'));
  assert.match(none.content, /There is no voice to speak with yet/);
  assert.ok(none.ephemeral);
  const long = await slash('speak', dave.id, text('a'.repeat(2000)));
  assert.match(long.content, /too long \(at most 500 characters\)/);
  const zh = await slash('speak', bob.id, text('你好'), 'zh-CN');
  assert.equal(zh.content, '还没有可用的声音。请先使用 /clone。');
});

test("/speak with another member's unshared voice is refused; after /voice share it plays", async () => {
  const voiceOption = [...text('hello there'), { name: 'voice', type: OptionType.User, value: dave.id }];
  const refused = await slash('speak', bob.id, voiceOption);
  assert.match(refused.content, /has not shared this voice with you/);

  const share = await slash('voice', dave.id, [
    { name: 'share', type: OptionType.Subcommand, options: [{ name: 'member', type: OptionType.User, value: bob.id }] },
  ]);
  assert.match(share.content, new RegExp(`can now also be used by <@${bob.id}>`));
  const start = h.discord.voice.frames().length;
  const allowed = await slash('speak', bob.id, voiceOption);
  assert.ok(!allowed.ephemeral);
  assert.match(allowed.content, new RegExp(`AI voice of <@${dave.id}>.*requested by <@${bob.id}>`));
  await h.discord.voice.waitForFrames(start + 15, { filter: () => true, timeoutMs: 10_000 });
});

test('the bot kicked from the channel mid-stream: the utterance ends, the reply says why, the next /speak rejoins', async () => {
  const { discord } = h;
  await eventually(() => h.adapter.speech.queueOf(h.adapter.client.guilds.cache.get(discord.guild.id)!).state === 'idle', 10_000, 'idle queue');
  const start = discord.voice.frames().length;
  const long = await slash('speak', dave.id, text(Array.from({ length: 60 }, () => 'word').join(' ')));
  await discord.voice.waitForFrames(start + 30, { filter: () => true, timeoutMs: 10_000 });
  discord.voice.disconnectBot(4014);
  const kickedAt = process.hrtime.bigint();
  await waitForEdit(discord, long.id, /disconnected from the voice channel/, 10_000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const afterKick = discord.voice.frames().filter((f) => f.arrivedAtNs > kickedAt + 100_000_000n && !isSilenceFrame(f.opus));
  assert.equal(afterKick.length, 0);

  const again = discord.voice.frames().length;
  await slash('speak', dave.id, text('back again'));
  await discord.voice.waitForFrames(again + 15, { filter: () => true, timeoutMs: 10_000 });
});

test("/stop ends the caller's speech at once", async () => {
  const { discord } = h;
  await eventually(() => h.adapter.speech.queueOf(h.adapter.client.guilds.cache.get(discord.guild.id)!).state === 'idle', 10_000, 'idle queue');
  const start = discord.voice.frames().length;
  await slash('speak', dave.id, text(Array.from({ length: 60 }, () => 'word').join(' ')));
  await discord.voice.waitForFrames(start + 30, { filter: () => true, timeoutMs: 10_000 });
  const stop = await slash('stop', dave.id);
  const stoppedAt = process.hrtime.bigint();
  assert.match(stop.content, /Stopped 1 utterance/);
  await new Promise((resolve) => setTimeout(resolve, 400));
  const late = discord.voice.frames().filter((f) => f.arrivedAtNs > stoppedAt + 200_000_000n && !isSilenceFrame(f.opus));
  assert.equal(late.length, 0);
});

test('a member leaving the voice channel stops their recording; /consent needs an admin', async () => {
  const { discord } = h;
  const erin = discord.addMember('erin', { inVoice: true });
  await slash('clone', erin.id);
  const consentId = h.fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: erin.id }).consent?.id;
  const agree = discord.dispatchInteraction({ kind: 'button', customId: `vocalis:agree:${consentId}`, userId: erin.id });
  await waitForEdit(discord, agree.id, /Recording in the voice channel/);
  await eventually(() => h.adapter.clone.sessionOf(erin.id)?.state.status === 'recording', 10_000, 'recording');
  discord.setMemberVoiceChannel(erin.id, null);
  await waitForEdit(discord, agree.id, /You left the voice channel/);

  // A member without Manage Server (the fake grants every permission, so strip them here).
  const built = discord.interactions.slashCommand({ name: 'consent', userId: bob.id, options: [{ name: 'list', type: OptionType.Subcommand }] });
  const member = built.payload['member'] as Record<string, unknown>;
  member['permissions'] = '0';
  discord.dispatch('INTERACTION_CREATE', built.payload);
  const refused = await discord.waitForInteractionResponse(built.interaction.id);
  assert.match(contentOf(refused), /Only members with Manage Server/);
  const list = await slash('consent', discord.guild.ownerId, [{ name: 'list', type: OptionType.Subcommand }]);
  assert.match(list.content, new RegExp(`<@${dave.id}>: sample_collected`));
});

test('a revocation made outside Discord (operator, CLI, Telegram) stops the audio within 1 s', async () => {
  const { discord } = h;
  await eventually(() => h.adapter.speech.queueOf(h.adapter.client.guilds.cache.get(discord.guild.id)!).state === 'idle', 10_000, 'idle queue');
  const start = discord.voice.frames().length;
  const reply = await slash('speak', dave.id, text(Array.from({ length: 60 }, () => 'word').join(' ')));
  await discord.voice.waitForFrames(start + 40, { filter: () => true, timeoutMs: 10_000 });
  const revokedAt = process.hrtime.bigint();
  await h.fixture.runtime.vocalis.revoke({ target: { platform: 'discord', platformUserId: dave.id }, actor: { kind: 'operator' } });
  await waitForEdit(discord, reply.id, /consent ended/, 5_000);
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  const late = discord.voice
    .frames()
    .slice(start)
    .filter((f) => !isSilenceFrame(f.opus) && f.arrivedAtNs > revokedAt + 1_000_000_000n);
  assert.equal(late.length, 0);
});

test('/speak is rate limited per user and guild', async () => {
  let reply = { content: '' };
  for (let attempt = 0; attempt < 40 && !/Slow down/.test(reply.content); attempt++) reply = await slash('speak', bob.id, text('hi'));
  assert.match(reply.content, /Slow down a little: try again in \d+ s/);
});

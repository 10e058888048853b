// Proves the fake REST + gateway against the real discord.js 14 client.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, Events, MessageFlags as DjsMessageFlags, type Client, type Interaction, type Message } from 'discord.js';
import { startFakeDiscord, InteractionCallbackType, OptionType, type FakeDiscord } from './index.ts';
import { loginTestClient } from './discord-test-client.ts';

function nextInteraction(client: Client): Promise<Interaction> {
  return new Promise((resolve) => client.once(Events.InteractionCreate, resolve));
}

describe('fake Discord REST + gateway with discord.js', () => {
  let discord: FakeDiscord;
  let client: Client<true>;

  beforeAll(async () => {
    discord = await startFakeDiscord();
    client = await loginTestClient(discord);
  });

  afterAll(async () => {
    await client.destroy();
    await discord.close();
  });

  test('logs in: gateway URL from /gateway/bot, READY, then the guild with its channels', () => {
    assert.equal(client.user.id, discord.botUserId);
    assert.equal(client.application.id, discord.applicationId);
    const guild = client.guilds.cache.get(discord.guild.id);
    assert.ok(guild, 'guild cached from GUILD_CREATE');
    assert.equal(guild.ownerId, discord.guild.ownerId);
    assert.ok(guild.channels.cache.get(discord.guild.textChannelId)?.isTextBased());
    assert.ok(guild.channels.cache.get(discord.guild.voiceChannelId)?.isVoiceBased());
    assert.ok(guild.members.me, 'bot member present');
    assert.ok(discord.rest.requests.find((r) => r.route === 'GET /gateway/bot'));
    assert.match(discord.gateway.connections.entries[0]?.url ?? '', /^\/gateway\?v=10&encoding=json$/);
    assert.equal(discord.gateway.stats.identifies, 1);
  });

  test('registers guild commands over REST and the fake records them', async () => {
    const guild = client.guilds.cache.get(discord.guild.id)!;
    const set = await guild.commands.set([
      { name: 'consent', description: 'Give consent', options: [{ type: 3, name: 'phrase', description: 'p', required: true }] },
      { name: 'clone', description: 'Clone a voice' },
    ]);
    assert.equal(set.size, 2);
    const registered = discord.commands.byScope.get(discord.guild.id) ?? [];
    assert.deepEqual(
      registered.map((c) => c.name),
      ['consent', 'clone'],
    );
    const request = discord.rest.requests.find((r) => r.route === 'PUT /applications/:app/guilds/:guild/commands');
    assert.equal(request?.headers['authorization'], `Bot ${discord.token}`);
  });

  test('slash command → ephemeral reply recorded with flags 64', async () => {
    const member = discord.addMember('alice');
    const seen = nextInteraction(client);
    const fake = discord.dispatchInteraction({
      kind: 'slash',
      name: 'consent',
      userId: member.id,
      options: [{ name: 'phrase', type: OptionType.String, value: 'purple elephant' }],
    });
    const interaction = await seen;
    assert.ok(interaction.isChatInputCommand());
    assert.equal(interaction.commandName, 'consent');
    assert.equal(interaction.commandId, discord.commands.idOf('consent', discord.guild.id));
    assert.equal(interaction.options.getString('phrase'), 'purple elephant');
    assert.equal(interaction.user.id, member.id);
    const button = new ButtonBuilder().setCustomId('consent:yes').setLabel('Yes').setStyle(ButtonStyle.Success);
    await interaction.reply({
      content: 'Please confirm',
      flags: DjsMessageFlags.Ephemeral,
      components: [new ActionRowBuilder<ButtonBuilder>().addComponents(button)],
    });
    const response = await discord.waitForInteractionResponse(fake.id);
    assert.equal(response.type, InteractionCallbackType.ChannelMessageWithSource);
    assert.equal(response.data?.['flags'], 64);
    assert.equal(response.data?.['content'], 'Please confirm');
    const edited = interaction.editReply({ content: 'Confirmed?' });
    const call = await discord.waitForWebhookCall(fake.id, 'editOriginal');
    assert.equal(call.body?.['content'], 'Confirmed?');
    assert.equal((await edited).content, 'Confirmed?');
  });

  test('button click → deferred update (type 6) and a follow-up', async () => {
    const member = discord.addMember('bob');
    const channel = client.channels.cache.get(discord.guild.textChannelId);
    assert.ok(channel?.isSendable());
    const button = new ButtonBuilder().setCustomId('vote:1').setLabel('Vote').setStyle(ButtonStyle.Primary);
    const posted = await channel.send({ content: 'Vote!', components: [new ActionRowBuilder<ButtonBuilder>().addComponents(button)] });
    const seen = nextInteraction(client);
    const fake = discord.dispatchInteraction({ kind: 'button', customId: 'vote:1', userId: member.id, messageId: posted.id });
    const interaction = await seen;
    assert.ok(interaction.isButton());
    assert.equal(interaction.customId, 'vote:1');
    assert.equal(interaction.message.id, posted.id);
    await interaction.deferUpdate();
    assert.equal((await discord.waitForInteractionResponse(fake.id)).type, InteractionCallbackType.DeferredUpdateMessage);
    await interaction.followUp({ content: 'Counted', flags: DjsMessageFlags.Ephemeral });
    const followUp = await discord.waitForWebhookCall(fake.id, 'followUp');
    assert.equal(followUp.body?.['flags'], 64);
  });

  test('MESSAGE_CREATE with an attachment the bot downloads from the fake CDN; file upload and DM', async () => {
    const member = discord.addMember('carol');
    const audio = Buffer.from('OggS-fake-voice-note');
    const received = new Promise<Message>((resolve) => client.once(Events.MessageCreate, resolve));
    discord.dispatchMessage({
      authorId: member.id,
      content: 'my sample',
      attachments: [{ filename: 'voice.ogg', data: audio, contentType: 'audio/ogg', durationSecs: 1.5 }],
    });
    const message = await received;
    const attachment = message.attachments.first();
    assert.ok(attachment);
    assert.equal(attachment.duration, 1.5);
    const download = await fetch(attachment.url);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), audio);

    const reply = await message.reply({ content: 'got it', files: [{ attachment: Buffer.from('RIFFxxxx'), name: 'clone.wav' }] });
    const stored = discord.messages.messages.get(reply.id);
    assert.equal(stored?.files[0]?.filename, 'clone.wav');
    assert.deepEqual(stored?.files[0]?.data, Buffer.from('RIFFxxxx'));
    assert.equal(reply.attachments.first()?.name, 'clone.wav');

    const user = await client.users.fetch(member.id);
    const dm = await user.send('Your consent was recorded');
    assert.equal(discord.messages.messages.get(dm.id)?.body['content'], 'Your consent was recorded');
    assert.ok(discord.rest.requests.find((r) => r.route === 'POST /users/@me/channels'));
  });

  test('gateway drop with a resumable code: client resumes on resume_gateway_url and gets missed events', async () => {
    const connectionsBefore = discord.gateway.connections.entries.length;
    discord.gateway.forceReconnect({ closeCode: 4000 });
    const member = discord.addMember('dave');
    const received = new Promise<Message>((resolve) => client.once(Events.MessageCreate, resolve));
    discord.dispatchMessage({ authorId: member.id, content: 'sent while the bot was away' });
    assert.equal((await received).content, 'sent while the bot was away');
    assert.equal(discord.gateway.stats.resumes, 1);
    assert.equal(discord.gateway.stats.identifies, 1);
    assert.match(discord.gateway.connections.entries[connectionsBefore]?.url ?? '', /^\/gateway-resume\?/);
  });

  test('slash command with an attachment option resolves the attachment', async () => {
    const member = discord.addMember('erin');
    const sample = discord.messages.addAttachment('sample.ogg', Buffer.from('OggS'), 'audio/ogg');
    const seen = nextInteraction(client);
    discord.dispatchInteraction({
      kind: 'slash',
      name: 'clone',
      userId: member.id,
      options: [{ name: 'sample', type: OptionType.Attachment, value: sample.id }],
    });
    const interaction = await seen;
    assert.ok(interaction.isChatInputCommand());
    const attachment = interaction.options.getAttachment('sample', true);
    assert.equal(attachment.url, sample.url);
    assert.equal(attachment.contentType, 'audio/ogg');
  });

  test('nothing unexpected was called', () => {
    assert.deepEqual(
      discord.rest.unknownRoutes.map((r) => `${r.method} ${r.path}`),
      [],
    );
  });
});

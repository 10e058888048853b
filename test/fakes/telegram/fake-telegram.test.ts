import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { Markup, Telegraf, TelegramError } from 'telegraf';
import type { ReplyParameters } from 'telegraf/types';
import { groupChat, makeUser, privateChat, startFakeTelegram, type FakeTelegram } from './index.ts';

/** A fresh fake and a telegraf client pointed at it for each test. */
async function setup(): Promise<{ fake: FakeTelegram; bot: Telegraf }> {
  const fake = await startFakeTelegram();
  const bot = new Telegraf(fake.token, { telegram: { apiRoot: fake.apiRoot } });
  return { fake, bot };
}

/** Runs bot.launch() (long polling) and returns a stopper that waits for the loop to end. */
async function launch(bot: Telegraf, fake: FakeTelegram): Promise<() => Promise<void>> {
  const running = bot.launch();
  await fake.waitForCall('deleteWebhook');
  return async () => {
    bot.stop('test done');
    await running;
  };
}

describe('fake Telegram Bot API with the real telegraf client', () => {
  let fake: FakeTelegram;
  let bot: Telegraf;
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ fake, bot } = await setup());
  });
  afterEach(async () => {
    await stop?.();
    stop = undefined;
    await fake.close();
    ({ fake, bot } = await setup());
  });
  afterAll(async () => {
    await fake.close();
  });

  it('delivers a /start command over long polling and records the reply', async () => {
    bot.start((ctx) => ctx.reply(`hello ${ctx.from.language_code ?? '?'}`));
    stop = await launch(bot, fake);
    assert.equal(fake.calls('getMe').length, 1);

    const user = makeUser(42, { language_code: 'de' });
    const update = fake.pushUpdate(fake.updates.command('start', '', { from: user }));
    const reply = await fake.waitForCall('sendMessage');

    assert.equal(reply.params.chat_id, 42);
    assert.equal(reply.params.text, 'hello de');
    assert.equal(reply.response?.ok, true);
    // The next poll acknowledges the update through its offset.
    const ack = await fake.waitForRequest('getUpdates', (c) => c.params.offset === update.update_id + 1);
    assert.equal(ack.params.timeout, 50);
    assert.ok(fake.calls().every((c) => c.at > 0));
  });

  it('answers an inline keyboard callback and edits the message', async () => {
    bot.start((ctx) =>
      ctx.reply('Consent?', Markup.inlineKeyboard([Markup.button.callback('Yes', 'consent:yes'), Markup.button.callback('No', 'consent:no')])),
    );
    bot.action(/^consent:(yes|no)$/, async (ctx) => {
      await ctx.answerCbQuery('noted');
      await ctx.editMessageText(`answer: ${ctx.match[1] ?? ''}`);
    });
    stop = await launch(bot, fake);
    const chat = privateChat();
    fake.pushUpdate(fake.updates.command('/start', '', { chat }));
    const sent = await fake.waitForCall('sendMessage');
    assert.deepEqual(sent.params.reply_markup, {
      inline_keyboard: [
        [
          { text: 'Yes', callback_data: 'consent:yes', hide: false },
          { text: 'No', callback_data: 'consent:no', hide: false },
        ],
      ],
    });

    const click = fake.pushUpdate(fake.updates.callbackQuery('consent:yes', { chat }));
    assert.ok(click.callback_query.message !== undefined, 'builder found the keyboard message');
    const answer = await fake.waitForCall('answerCallbackQuery');
    assert.equal(answer.params.callback_query_id, click.callback_query.id);
    assert.equal(answer.params.text, 'noted');
    await fake.waitForCall('editMessageText');
    assert.equal(fake.callbackAnswered(click.callback_query.id), true);
    const [edited] = fake.botMessages(chat.id);
    assert.ok(edited !== undefined && 'text' in edited);
    assert.equal(edited.text, 'answer: yes');
    assert.equal(edited.reply_markup, undefined, 'editing without markup removes the keyboard');
  });

  it('serves a voice message file through getFileLink and fetch', async () => {
    const ogg = Buffer.concat([Buffer.from('OggS'), randomBytes(4000)]);
    const downloaded: Buffer[] = [];
    bot.on('voice', async (ctx) => {
      assert.equal(ctx.message.voice.mime_type, 'audio/ogg');
      assert.equal(ctx.message.voice.file_size, ogg.length);
      const link = await ctx.telegram.getFileLink(ctx.message.voice.file_id);
      const response = await fetch(link);
      downloaded.push(Buffer.from(await response.arrayBuffer()));
      await ctx.reply('got it');
    });
    stop = await launch(bot, fake);
    fake.pushUpdate(fake.updates.voice({ bytes: ogg, duration: 4 }));
    await fake.waitForCall('sendMessage');
    assert.equal(downloaded.length, 1);
    assert.ok(downloaded[0]?.equals(ogg), 'downloaded bytes are identical');
  });

  it('builds group voice replies to the bot and audio files', async () => {
    const group = groupChat();
    const seen: string[] = [];
    bot.on('voice', async (ctx) => {
      const repliedTo = ctx.message.reply_to_message;
      seen.push(`voice reply-to-bot=${String(repliedTo?.from?.id === ctx.botInfo.id)} chat=${ctx.chat.type}`);
    });
    bot.on('audio', async (ctx) => {
      seen.push(`audio ${ctx.message.audio.mime_type ?? ''} ${ctx.message.audio.file_name ?? ''} ${ctx.from.language_code ?? ''}`);
      await ctx.reply('done');
    });
    stop = await launch(bot, fake);
    const prompt = await bot.telegram.sendMessage(group.id, 'Reply to this message with a voice note');
    fake.pushUpdate(fake.updates.voice({ chat: group, from: makeUser(5), replyTo: prompt, duration: 2 }));
    fake.pushUpdate(fake.updates.audio({ from: makeUser(6, { language_code: 'fr' }), fileName: 'take.mp3' }));
    await fake.waitForCall('sendMessage', (c) => c.params.text === 'done');
    assert.deepEqual(seen, ['voice reply-to-bot=true chat=supergroup', 'audio audio/mpeg take.mp3 fr']);
    assert.equal((await bot.telegram.getChatMember(group.id, 5)).status, 'member', 'posting made the user a member');
  });

  it('receives a streamed sendVoice upload byte-for-byte with its caption', async () => {
    const chatId = 555;
    const ogg = Buffer.concat([Buffer.from('OggS\0\x02'), randomBytes(300_000)]);
    // A Readable source makes telegraf stream the multipart body in chunks.
    const message = await bot.telegram.sendVoice(
      chatId,
      { source: Readable.from([ogg.subarray(0, 1000), ogg.subarray(1000)]), filename: 'clone.ogg' },
      {
        caption: 'Synthetic voice — AI generated',
        duration: 3,
      },
    );
    assert.equal(message.caption, 'Synthetic voice — AI generated');
    const [voice] = fake.sentVoices(chatId);
    assert.ok(voice !== undefined);
    assert.equal(voice.filename, 'clone.ogg');
    assert.equal(voice.caption, 'Synthetic voice — AI generated');
    assert.equal(voice.bytes.length, ogg.length);
    assert.ok(voice.bytes.equals(ogg), 'uploaded bytes are identical');
    // The uploaded voice is downloadable again, like on real Telegram.
    const link = await bot.telegram.getFileLink(message.voice.file_id);
    assert.ok(Buffer.from(await (await fetch(link)).arrayBuffer()).equals(ogg));
  });

  it('refuses getFile for files above 20 MB', async () => {
    const fileId = fake.addFile(Buffer.from('OggS'), { size: 25 * 1024 * 1024, kind: 'voice' });
    await assert.rejects(bot.telegram.getFileLink(fileId), (error: unknown) => {
      assert.ok(error instanceof TelegramError);
      assert.equal(error.code, 400);
      assert.equal(error.description, 'Bad Request: file is too big');
      return true;
    });
    await assert.rejects(bot.telegram.getFile('nope'), /invalid file_id/);
  });

  it('injects 429 with retry_after that the client sees', async () => {
    fake.failNext('sendMessage', 2, 7);
    for (let i = 0; i < 2; i += 1) {
      await assert.rejects(bot.telegram.sendMessage(1, 'hi'), (error: unknown) => {
        assert.ok(error instanceof TelegramError);
        assert.equal(error.code, 429);
        assert.equal(error.description, 'Too Many Requests: retry after 7');
        assert.equal(error.parameters?.retry_after, 7);
        return true;
      });
    }
    await bot.telegram.sendMessage(1, 'hi');
    assert.equal(fake.rateLimitedCount, 2);
  });

  it('limits injected faults to one chat when asked', async () => {
    fake.failNext('*', 1, 2, { chatId: -100 });
    await bot.telegram.sendMessage(1, 'other chat is unaffected');
    await assert.rejects(bot.telegram.sendChatAction(-100, 'record_voice'), /retry after 2/);
    await bot.telegram.sendChatAction(-100, 'record_voice');
  });

  it('answers 401 for a wrong token, on the API and on file downloads', async () => {
    const intruder = new Telegraf('123456:wrong', { telegram: { apiRoot: fake.apiRoot } });
    await assert.rejects(
      intruder.telegram.getMe(),
      (error: unknown) => error instanceof TelegramError && error.code === 401 && error.description === 'Unauthorized',
    );
    const fileId = fake.addFile(Buffer.from('x'));
    const { file_path: filePath } = await bot.telegram.getFile(fileId);
    const response = await fetch(`${fake.apiRoot}/file/bot123456:wrong/${filePath ?? ''}`);
    assert.equal(response.status, 401);
    assert.equal(fake.calls().filter((c) => c.method === 'getMe').length, 0, 'unauthorised calls are not recorded');
  });

  it('enforces flood limits per chat when enabled', async () => {
    fake.enforceFloodLimits(true);
    await bot.telegram.sendMessage(7, 'one');
    await assert.rejects(
      bot.telegram.sendMessage(7, 'two'),
      (error: unknown) => error instanceof TelegramError && error.code === 429 && error.parameters?.retry_after === 1,
    );
    await bot.telegram.sendMessage(8, 'another chat is fine');
    assert.equal(fake.floodViolations, 1);
    fake.enforceFloodLimits(false);
    await bot.telegram.sendMessage(7, 'two');
  });

  it('enforces the global 30 messages per second limit', async () => {
    fake.enforceFloodLimits(true);
    const results = await Promise.allSettled(Array.from({ length: 35 }, (_, i) => bot.telegram.sendMessage(1000 + i, 'burst')));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 30);
    assert.equal(fake.floodViolations, 5);
  });

  it('keeps chat state: members, admins, commands, captions, deletes, reply validation', async () => {
    const group = groupChat(-4242, 'Choir');
    const admin = makeUser(9);
    fake.setChatMember(group.id, {
      status: 'administrator',
      user: admin,
      can_be_edited: false,
      is_anonymous: false,
      can_manage_chat: true,
      can_delete_messages: true,
      can_manage_video_chats: true,
      can_restrict_members: true,
      can_promote_members: false,
      can_change_info: true,
      can_invite_users: true,
      can_post_stories: false,
      can_edit_stories: false,
      can_delete_stories: false,
    });
    const posted = fake.pushUpdate(fake.updates.text('hello', { chat: group, from: makeUser(10) }));

    assert.deepEqual(
      (await bot.telegram.getChatAdministrators(group.id)).map((m) => m.user.id),
      [9],
    );
    assert.equal((await bot.telegram.getChatMember(group.id, 10)).status, 'member');
    assert.equal((await bot.telegram.getChatMember(group.id, 11)).status, 'left');
    await assert.rejects(bot.telegram.getChatAdministrators(10), /no administrators in the private chat/);

    await bot.telegram.setMyCommands([{ command: 'start', description: 'Begin' }]);
    assert.deepEqual(fake.commands(), [{ command: 'start', description: 'Begin' }]);
    await assert.rejects(bot.telegram.setMyCommands([{ command: 'Bad Command', description: 'x' }]), /BOT_COMMAND_INVALID/);

    // telegraf 4.16 silently drops object-valued reply_parameters from multipart uploads.
    const unthreaded = await bot.telegram.sendVoice(
      group.id,
      { source: Buffer.from('OggS') },
      {
        reply_parameters: { message_id: posted.message.message_id },
      },
    );
    assert.equal(unthreaded.reply_to_message, undefined);
    await bot.telegram.deleteMessage(group.id, unthreaded.message_id);
    const voice = await bot.telegram.sendVoice(
      group.id,
      { source: Buffer.from('OggS'), filename: 'a.ogg' },
      {
        caption: 'first',
        // Workaround: pre-serialised JSON passes through telegraf's form encoder untouched.
        reply_parameters: JSON.stringify({ message_id: posted.message.message_id }) as unknown as ReplyParameters,
      },
    );
    assert.equal(voice.reply_to_message?.message_id, posted.message.message_id);
    await bot.telegram.editMessageCaption(group.id, voice.message_id, undefined, 'second');
    await assert.rejects(bot.telegram.editMessageCaption(group.id, voice.message_id, undefined, 'second'), /message is not modified/);
    await bot.telegram.sendChatAction(group.id, 'upload_voice');
    await bot.telegram.deleteMessage(group.id, voice.message_id);
    await assert.rejects(bot.telegram.deleteMessage(group.id, voice.message_id), /message to delete not found/);
    await assert.rejects(bot.telegram.sendMessage(group.id, 'x', { reply_parameters: { message_id: 999 } }), /message to be replied not found/);
    await assert.rejects(bot.telegram.sendMessage(group.id, 'x', Markup.inlineKeyboard([Markup.button.callback('t', 'x'.repeat(65))])), /BUTTON_DATA_INVALID/);
    assert.deepEqual(
      fake.messages(group.id).map((m) => m.message_id),
      [posted.message.message_id],
    );
  });

  it('rejects unknown or repeated callback answers and unknown methods', async () => {
    await assert.rejects(bot.telegram.answerCbQuery('123'), /query is too old/);
    const click = fake.pushUpdate(fake.updates.callbackQuery('x'));
    await bot.telegram.answerCbQuery(click.callback_query.id);
    await assert.rejects(bot.telegram.answerCbQuery(click.callback_query.id), /query is too old/);
    await assert.rejects(bot.telegram.callApi('notAMethod' as 'getMe', {}), (e: unknown) => e instanceof TelegramError && e.code === 404);
  });

  it('refuses getUpdates while a webhook is set, and after deleteWebhook delivers pending updates', async () => {
    await bot.telegram.setWebhook('https://example.invalid/hook');
    assert.equal(fake.webhookUrl, 'https://example.invalid/hook');
    await assert.rejects(bot.telegram.getUpdates(0, 100, 0, undefined), (e: unknown) => e instanceof TelegramError && e.code === 409);
    const pushed = fake.pushUpdate(fake.updates.text('queued'));
    await bot.telegram.deleteWebhook();
    const updates = await bot.telegram.getUpdates(0, 100, 0, undefined);
    assert.deepEqual(
      updates.map((u) => u.update_id),
      [pushed.update_id],
    );
    // Acknowledged updates are gone.
    assert.deepEqual(await bot.telegram.getUpdates(0, 100, pushed.update_id + 1, undefined), []);
  });

  it('filters by allowed_updates and wakes a waiting long poll', async () => {
    const waiting = bot.telegram.getUpdates(5, 100, 0, ['callback_query']);
    await fake.waitForRequest('getUpdates');
    fake.pushUpdate(fake.updates.text('ignored'));
    const click = fake.pushUpdate(fake.updates.callbackQuery('wanted'));
    const started = Date.now();
    const updates = await waiting;
    assert.ok(Date.now() - started < 2000, 'long poll answered as soon as a matching update arrived');
    assert.deepEqual(
      updates.map((u) => u.update_id),
      [click.update_id],
    );
  });
});

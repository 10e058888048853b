import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Message } from 'telegraf/types';
import { groupChat, makeUser, privateChat } from '../../fakes/telegram/index.ts';
import { buttons, press, resultMessage, speakerNotes, startHarness, waitForText, type TelegramHarness } from './harness.ts';

/** Group behaviour: cloning in a group by replying to the bot, and /revoke by admins and operators. */
describe('Telegram group cloning and admin revocation', () => {
  let h: TelegramHarness;
  const group = groupChat(-1_001_000_000_001, 'Readers');
  const otherGroup = groupChat(-1_001_000_000_002, 'Elsewhere');
  const bob = makeUser(301, { username: 'bob' });
  const carol = makeUser(302, { username: 'carol' });
  const dave = makeUser(303, { username: 'dave' });
  const erin = makeUser(304, { username: 'erin' });
  const olga = makeUser(900, { username: 'olga' });
  const telegramId = (id: number) => ({ platform: 'telegram', platformUserId: String(id) });
  let bobMessage: Message;

  beforeAll(async () => {
    h = await startHarness({
      config: { operatorIds: ['900'], speakLimit: { capacity: 20, perMinute: 60 }, sendQueue: { perChatIntervalMs: 100, groupPerMinute: 600 } },
    });
    h.fake.setChatMember(group.id, { status: 'creator', user: makeUser(399), is_anonymous: false });
    h.fake.setChatMember(group.id, {
      status: 'administrator',
      user: dave,
      is_anonymous: false,
      can_be_edited: false,
      can_manage_chat: true,
      can_change_info: true,
      can_delete_messages: true,
      can_invite_users: true,
      can_restrict_members: true,
      can_pin_messages: true,
      can_promote_members: false,
      can_manage_video_chats: true,
      can_post_stories: false,
      can_edit_stories: false,
      can_delete_stories: false,
    });
  });

  afterAll(async () => {
    await h.close();
  });

  it('a member clones in the group, sending voice notes as replies to the bot', async () => {
    const { fake } = h;
    fake.pushUpdate(fake.updates.command('clone', '', { from: bob, chat: group }));
    const notice = resultMessage(await fake.waitForCall('sendMessage', (c) => c.params.chat_id === group.id && c.params.reply_markup !== undefined));
    // carol cannot agree on bob's behalf
    const refused = await press(fake, notice, buttons(notice)[0]!, carol);
    assert.equal(refused.params.show_alert, true);
    await press(fake, notice, buttons(notice)[0]!, bob);
    const script = resultMessage(await waitForText(fake, group.id, /^Your confirmation phrase/));
    assert.match('text' in script ? script.text : '', /as a reply to one of my messages/);
    assert.equal(h.rt.runtime.vocalis.status(telegramId(bob.id)).consent?.scope.context, String(group.id));

    const [note] = await speakerNotes('3331', 1);
    bobMessage = fake.pushUpdate(fake.updates.voice({ bytes: note!, from: bob, chat: group, replyTo: script })).message;
    await waitForText(fake, group.id, /^Recorded \d+ of 10 s/);
    await waitForText(fake, group.id, /Your sample is complete/);
  });

  it('/speak in the group answers in the group, captioned with the owner', async () => {
    const { fake } = h;
    fake.pushUpdate(fake.updates.command('speak', 'good evening readers', { from: bob, chat: group }));
    await fake.waitForCall('sendVoice', (c) => c.params.chat_id === group.id);
    assert.equal(fake.sentVoices(group.id)[0]?.caption, 'AI voice of @bob');
    // The consent was given for this group only: not usable in another chat.
    fake.pushUpdate(fake.updates.command('speak', 'hello elsewhere', { from: bob, chat: otherGroup }));
    await waitForText(fake, otherGroup.id, /not given for use here/);
  });

  it('another member may use the voice only after its owner shares it', async () => {
    const { fake } = h;
    fake.pushUpdate(fake.updates.command('speak', 'borrowed words', { from: carol, chat: group, replyTo: bobMessage }));
    await waitForText(fake, group.id, /has not shared this voice with you/);
    fake.pushUpdate(fake.updates.command('voice', 'share', { from: bob, chat: group }));
    await waitForText(fake, group.id, /^Anyone in the chat where you gave consent/);
    assert.equal(h.rt.runtime.vocalis.status(telegramId(bob.id)).consent?.scope.speakers.mode, 'context');
    fake.pushUpdate(fake.updates.command('speak', 'shared words now', { from: carol, chat: group, replyTo: bobMessage }));
    await fake.waitForCall(
      'sendVoice',
      (c) => c.params.chat_id === group.id && c.params.caption === 'AI voice of @bob' && fake.sentVoices(group.id).length === 2,
    );
    fake.pushUpdate(fake.updates.command('voice', 'private', { from: bob, chat: group }));
    await waitForText(fake, group.id, /^Only you can make your voice speak now/);
    fake.pushUpdate(fake.updates.command('speak', 'once more', { from: carol, chat: group, replyTo: bobMessage }));
    await waitForText(fake, group.id, /has not shared this voice with you/);
  });

  it('refuses /revoke from a plain member, without a reply, and in private chats', async () => {
    const { fake } = h;
    fake.pushUpdate(fake.updates.command('revoke', '', { from: carol, chat: group, replyTo: bobMessage }));
    await waitForText(fake, group.id, /not allowed to do that/);
    assert.ok(fake.calls('getChatAdministrators').length >= 1, 'admins were asked from Telegram');
    fake.pushUpdate(fake.updates.command('revoke', '', { from: dave, chat: group }));
    await waitForText(fake, group.id, /Reply to a member's message with \/revoke/);
    fake.pushUpdate(fake.updates.command('revoke', '', { from: dave }));
    await waitForText(fake, privateChat(dave).id, /works in groups/);
    assert.notEqual(h.rt.runtime.vocalis.status(telegramId(bob.id)).consent, null);
  });

  it('an admin of another chat cannot revoke a voice given elsewhere', async () => {
    const { fake, rt } = h;
    const offer = rt.runtime.vocalis.offerConsent({
      identity: telegramId(erin.id),
      language: 'en',
      context: { platform: 'telegram', contextId: String(otherGroup.id) },
    });
    rt.runtime.vocalis.acceptConsent({ identity: telegramId(erin.id), consentId: offer.consent.id });
    const erinMessage = fake.pushUpdate(fake.updates.text('hi all', { from: erin, chat: group })).message;
    fake.pushUpdate(fake.updates.command('revoke', '', { from: dave, chat: group, replyTo: erinMessage }));
    await waitForText(fake, group.id, /not allowed to do that/);
    assert.equal(rt.runtime.vocalis.status(telegramId(erin.id)).consent?.state, 'granted');
    // An operator may revoke anywhere.
    fake.pushUpdate(fake.updates.command('revoke', '', { from: olga, chat: group, replyTo: erinMessage }));
    await waitForText(fake, group.id, /The voice of @erin was revoked/);
    assert.equal(rt.runtime.vocalis.status(telegramId(erin.id)).consent, null);
  });

  it("a chat admin revokes a member's voice by replying to their message", async () => {
    const { fake, rt } = h;
    fake.pushUpdate(fake.updates.command('revoke', '', { from: dave, chat: group, replyTo: bobMessage }));
    const done = await waitForText(fake, group.id, /The voice of @bob was revoked/);
    assert.match(String(done.params.text), /Deleted: 1 voice\(s\), 1 recording\(s\)/);
    assert.equal(rt.runtime.vocalis.status(telegramId(bob.id)).consent, null);
    const receipts = rt.runtime.ledger.verify();
    assert.equal(receipts.ok, true);
    fake.pushUpdate(fake.updates.command('speak', 'still there', { from: bob, chat: group }));
    await waitForText(fake, group.id, /There is no (active consent|voice)/);
    assert.equal(fake.sentVoices(group.id).length, 2);
  });
});

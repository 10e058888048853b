import type { User } from 'telegraf/types';
import { type FakeTelegram, privateChat } from '../fakes/telegram/index.ts';
import { buttons, press, resultMessage, speakerNotes, waitForText } from '../bots/telegram/harness.ts';

/**
 * What a person does in their private chat with the bot, as Telegram delivers it: clone their
 * voice (consent, one voice note, the fine-tune's outcome) and ask it to speak.
 */
export async function cloneOverTelegram(fake: FakeTelegram, user: User, speaker: string): Promise<void> {
  const chat = privateChat(user).id;
  fake.pushUpdate(fake.updates.command('clone', '', { from: user }));
  const notice = resultMessage(await fake.waitForCall('sendMessage', (c) => c.params.chat_id === chat && c.params.reply_markup !== undefined, 30_000));
  const script = waitForText(fake, chat, /^Your confirmation phrase: /, 30_000);
  await press(fake, notice, buttons(notice)[0]!, user);
  await script;
  const [note] = await speakerNotes(speaker, 1);
  const complete = waitForText(fake, chat, /Your sample is complete/, 60_000);
  fake.pushUpdate(fake.updates.voice({ bytes: note!, from: user }));
  const queued = resultMessage(await complete);
  await fake.waitForCall('editMessageText', (c) => c.params.message_id === queued.message_id && /Your voice is ready/.test(String(c.params.text)), 60_000);
}

/** Sends `/speak text` and returns the chat id to watch for the answer. */
export function speak(fake: FakeTelegram, user: User, text: string): number {
  fake.pushUpdate(fake.updates.command('speak', text, { from: user }));
  return privateChat(user).id;
}

/** n words of text. */
export function words(n: number): string {
  return Array.from({ length: n }, (_, i) => `word${i + 1}`).join(' ');
}

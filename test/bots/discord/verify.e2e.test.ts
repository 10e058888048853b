// /verify on the hermetic Discord with the real client: an attached clip, a message link,
// a person's recording, and a link that is not to this server.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { encodeOggOpus } from '../../../src/engine/audio/opus-frames.ts';
import { OptionType, type CommandOption, type FakeUser } from '../../fakes/discord/index.ts';
import { createFliteBackend } from '../../support/flite-backend.ts';
import { readShared } from '../../support/speech-data.ts';
import { voiceNote } from '../telegram/harness.ts';
import { speakerFiles } from '../../support/speech-data.ts';
import { contentOf, startHarness, waitForEdit, type Harness } from './harness.ts';

let h: Harness;
let alice: FakeUser;
let bob: FakeUser;
let marked: Buffer;

beforeAll(async () => {
  h = await startHarness({ backend: createFliteBackend(), needs: { queue: false } });
  alice = h.discord.addMember('alice');
  bob = h.discord.addMember('bob');
  const vocalis = h.fixture.runtime.vocalis;
  const identity = { platform: 'discord', platformUserId: alice.id };
  const context = { platform: 'discord', contextId: h.discord.guild.id };
  const offer = vocalis.offerConsent({ identity, language: 'en', context });
  vocalis.acceptConsent({ identity, consentId: offer.consent.id });
  await vocalis.addClip({ identity, audio: readShared('allison-prompts/demo-congrats.wav'), cloneWhenComplete: false });
  // A clip Alice's voice said in the voice channel, as a screen recorder would keep it.
  const speech = vocalis.speak({
    requester: identity,
    context,
    text: 'Hi all. I am reading a few sentences with my synthetic voice. The match starts at eight tonight, so please be on time. Bring snacks.',
  });
  marked = Buffer.from(await encodeOggOpus(speech.audio, { bitrate: 24_000 }));
});

afterAll(async () => {
  await h.close();
});

async function verify(userId: string, options: readonly CommandOption[]): Promise<string> {
  return (await verifyCall(userId, options)).content;
}

async function verifyCall(userId: string, options: readonly CommandOption[]): Promise<{ content: string; body: Record<string, unknown> | undefined }> {
  const i = h.discord.dispatchInteraction({ kind: 'slash', name: 'verify', userId, options });
  const first = await h.discord.waitForInteractionResponse(i.id);
  if (contentOf(first) !== '') return { content: contentOf(first), body: first.data };
  const edit = await waitForEdit(h.discord, i.id, /./, 30_000);
  return { content: contentOf(edit), body: edit.body };
}

test("an attached clip made here is named as Alice's synthetic voice, without pinging her", async () => {
  const file = h.discord.messages.addAttachment('clip.ogg', marked, 'audio/ogg');
  const { content: answer, body } = await verifyCall(bob.id, [{ name: 'file', type: OptionType.Attachment, value: file.id }]);
  assert.deepEqual(body?.['allowed_mentions'], { parse: [] });
  assert.match(answer, new RegExp(`^Synthetic voice made by this Vocalis deployment: the voice of <@${alice.id}>, created on \\d{4}-\\d{2}-\\d{2}\\.$`));
});

test('a link to a message in this server with the clip attached gives the same answer', async () => {
  const message = h.discord.dispatchMessage({ authorId: bob.id, attachments: [{ filename: 'funny.ogg', data: marked, contentType: 'audio/ogg' }] });
  const link = `https://discord.com/channels/${h.discord.guild.id}/${h.discord.guild.textChannelId}/${message.id}`;
  const answer = await verify(bob.id, [{ name: 'message', type: OptionType.String, value: link }]);
  assert.match(answer, /the voice of <@\d+>, created on/);
});

test("a person's recording has no mark (never called authentic); other links and no input are explained", async () => {
  const human = Buffer.from(await voiceNote(speakerFiles('2033')[0]!));
  const file = h.discord.messages.addAttachment('me.ogg', human, 'audio/ogg');
  const none = await verify(bob.id, [{ name: 'file', type: OptionType.Attachment, value: file.id }]);
  assert.match(none, /^No Vocalis mark found\./);
  assert.doesNotMatch(none, /authentic/i);
  const foreign = await verify(bob.id, [{ name: 'message', type: OptionType.String, value: 'https://discord.com/channels/1/2/3' }]);
  assert.match(foreign, /not a link to a message in this server/);
  const nothing = await verify(bob.id, []);
  assert.match(nothing, /Reply \/verify to a voice message or an audio file, or attach one/);
});

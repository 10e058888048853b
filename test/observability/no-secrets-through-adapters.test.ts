import { test } from 'vitest';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { startDiscordAdapter } from '../../src/bots/discord/discord-adapter.ts';
import { startTelegramAdapter } from '../../src/bots/telegram/telegram-adapter.ts';
import { decodeAudioFile } from '../../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../../src/engine/audio/opus-frames.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { MessageFlags, OptionType, isSilenceFrame, startFakeDiscord } from '../fakes/discord/index.ts';
import { DEFAULT_USER, privateChat, startFakeTelegram } from '../fakes/telegram/index.ts';
import { buttons, press, resultMessage } from '../bots/telegram/harness.ts';
import { audioNeedles, leaks } from '../support/leak-needles.ts';
import { eventually, startRuntime } from '../support/runtime-fixture.ts';
import { speakerFiles } from '../support/speech-data.ts';
import { createToneBackend } from '../support/tone-backend.ts';

/**
 * The service's whole surface at trace level: the real Discord adapter (discord.js) and
 * the real Telegram adapter (telegraf) against the local fakes, with their tokens set,
 * one logger for the runtime and both adapters, as the service wires them. A member
 * clones from an uploaded voice message and speaks on Discord; a Telegram user clones
 * from a voice note, speaks and deletes. Every line that reaches the log is checked for
 * the tokens, the spoken texts, the challenge phrases, the master key and the audio.
 */
test('both chat adapters at trace level log no token, spoken text, challenge or audio', async () => {
  const sink = new PassThrough();
  let logged = '';
  sink.on('data', (d: Buffer) => (logged += d.toString('utf8')));
  const logger = createLogger({ level: 'trace', destination: sink });
  const discordText = 'saffron lighthouse whispers ninety secret numbers';
  const telegramText = 'quartz penguin hums the hidden midnight anthem';

  const discord = await startFakeDiscord();
  const telegram = await startFakeTelegram();
  // The first fine-tune attempt fails on purpose, so error paths log too.
  const f = await startRuntime({
    logger,
    backends: [createToneBackend({ targetSpeechSeconds: 3, failAttempts: [1] })],
    env: { DISCORD_TOKEN: discord.token, TELEGRAM_TOKEN: telegram.token, VOCALIS_CONSENT_VERIFICATION: 'off' },
  });
  const { vocalis } = f.runtime;
  const discordAdapter = await startDiscordAdapter({
    config: { ...f.runtime.config.discord!, applicationId: discord.applicationId, guildId: discord.guild.id, streamLeadMs: 300 },
    vocalis,
    logger,
    restApi: discord.restUrl,
    tuning: { jobWatchMs: 100 },
  });
  const telegramAdapter = await startTelegramAdapter({
    config: { token: f.runtime.config.telegram!.token, webhookUrl: undefined, operatorIds: [], jobWatchMs: 100 },
    vocalis,
    logger,
    apiRoot: telegram.apiRoot,
  });
  const uploads: Uint8Array[] = [];
  const challenges: string[] = [];
  try {
    // Discord: /clone → Agree → a voice message → fine-tune → /speak.
    const member = discord.addMember('grace', { inVoice: true });
    const slash = discord.dispatchInteraction({
      kind: 'slash',
      name: 'clone',
      userId: member.id,
      options: [{ name: 'source', type: OptionType.String, value: 'upload' }],
    });
    const offer = await discord.waitForInteractionResponse(slash.id);
    const rows = (offer.data?.['components'] ?? []) as Array<{ components?: Array<{ custom_id?: string }> }>;
    const agreeId = rows.flatMap((row) => (row.components ?? []).map((c) => c.custom_id ?? '')).find((id) => id.startsWith('vocalis:agree:'))!;
    discord.dispatchInteraction({ kind: 'button', customId: agreeId, userId: member.id });
    const discordIdentity = { platform: 'discord', platformUserId: member.id };
    await eventually(() => vocalis.status(discordIdentity).consent?.state === 'granted', 10_000, 'the Discord consent');
    challenges.push(vocalis.status(discordIdentity).consent!.challenge);
    const speech = await decodeAudioFile(speakerFiles('3331')[0]!, { sampleRate: 48_000 });
    const ogg = Buffer.from(await encodeOggOpus({ samples: speech.samples, sampleRate: 48_000 }));
    uploads.push(ogg);
    discord.dispatchMessage({
      authorId: member.id,
      attachments: [{ filename: 'voice-message.ogg', data: ogg, contentType: 'audio/ogg', durationSecs: speech.samples.length / 48_000 }],
      flags: MessageFlags.IsVoiceMessage,
    });
    await eventually(() => vocalis.status(discordIdentity).consent?.state === 'voice_ready', 30_000, 'the Discord fine-tune');
    const framesBefore = discord.voice.frames().length;
    discord.dispatchInteraction({ kind: 'slash', name: 'speak', userId: member.id, options: [{ name: 'text', type: OptionType.String, value: discordText }] });
    await eventually(
      () => {
        const frames = discord.voice.frames().slice(framesBefore);
        return frames.filter((fr) => !isSilenceFrame(fr.opus)).length > 50 && isSilenceFrame(frames.at(-1)!.opus);
      },
      30_000,
      'the Discord utterance',
    );

    // Telegram: /clone → Agree → a voice note → fine-tune → /speak → /delete.
    const chat = privateChat(DEFAULT_USER).id;
    telegram.pushUpdate(telegram.updates.command('clone'));
    const notice = resultMessage(await telegram.waitForCall('sendMessage', (c) => c.params.chat_id === chat && c.params.reply_markup !== undefined));
    await press(telegram, notice, buttons(notice).find((d) => d.startsWith('c:a:'))!, DEFAULT_USER);
    const telegramIdentity = { platform: 'telegram', platformUserId: String(DEFAULT_USER.id) };
    await eventually(() => vocalis.status(telegramIdentity).consent?.state === 'granted', 10_000, 'the Telegram consent');
    challenges.push(vocalis.status(telegramIdentity).consent!.challenge);
    const note = await decodeAudioFile(speakerFiles('3005')[0]!, { sampleRate: 48_000 });
    const voiceNote = await encodeOggOpus({ samples: note.samples, sampleRate: 48_000 });
    uploads.push(voiceNote);
    telegram.pushUpdate(telegram.updates.voice({ bytes: voiceNote }));
    await eventually(() => vocalis.status(telegramIdentity).consent?.state === 'voice_ready', 30_000, 'the Telegram fine-tune');
    telegram.pushUpdate(telegram.updates.command('speak', telegramText));
    await telegram.waitForCall('sendVoice', (c) => c.params.chat_id === chat, 20_000);
    uploads.push(new Uint8Array(telegram.sentVoices(chat).at(-1)!.bytes));
    telegram.pushUpdate(telegram.updates.command('delete'));
    await eventually(() => vocalis.status(telegramIdentity).consent === null, 10_000, 'the Telegram revocation');
  } finally {
    await telegramAdapter.stop();
    await discordAdapter.stop();
    await telegram.close();
    await discord.close();
    await f.close();
  }
  logger.flush();

  // The adapters and the core really logged, at every level down to trace, through these paths.
  for (const message of ['speak queued', 'speech synthesised', 'consent granted', 'fine-tune attempt failed']) {
    assert.match(logged, new RegExp(message), `the log has "${message}"`);
  }
  const found = leaks(logged, {
    'Discord token': [discord.token],
    'Telegram token': [telegram.token, telegram.token.split(':')[1]!],
    'spoken text': [discordText, telegramText, ...[discordText, telegramText].flatMap((t) => t.split(' ').filter((w) => w.length >= 8))],
    'challenge phrase': challenges,
    'master key': [f.masterKey],
    audio: uploads.flatMap((bytes) => audioNeedles(bytes)),
  });
  assert.deepEqual(found, [], 'nothing secret reached the log');
  const longest = Math.max(...logged.split('\n').map((line) => line.length));
  assert.ok(longest < 16_384, `no log line carries a payload (longest ${longest} chars)`);
});

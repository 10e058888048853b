import { Composer } from 'telegraf';
import type { Chat, Message, User } from 'telegraf/types';
import type { ClipOutcome } from '../../core/vocalis.ts';
import { t, type Locale } from '../../i18n/catalogue.ts';
import { problemLines, renderProgress } from '../../i18n/sample-messages.ts';
import { identityOf, isGroupChat, type BotContext } from './bot-context.ts';
import { replyWithError } from './error-reply.ts';
import { downloadFile, FileDownloadError } from './file-download.ts';
import type { HandlerDeps } from './handler-deps.ts';

interface IncomingAudio {
  readonly fileId: string;
  readonly fileSize: number | undefined;
}

/**
 * Voice messages, audio files and audio documents become sample clips — only after
 * the person agreed. Without a live consent nothing is downloaded or kept, and the
 * bot explains how to start. Each accepted clip is answered with the progress
 * ("Recorded 38 of 60 s"); a refused one with the verdict's reasons and advice.
 * The handler only queues the clip (see ClipWork) and returns.
 */
export function voiceIntakeHandlers(deps: HandlerDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  composer.on(['voice', 'audio', 'document'], async (ctx, next) => {
    const message = ctx.message;
    const audio = audioOf(message);
    if (!audio) return next();
    const botId = ctx.botInfo.id;
    // In groups only voice notes addressed to the bot count (with privacy mode on, it sees nothing else).
    if (isGroupChat(ctx.chat) && message.reply_to_message?.from?.id !== botId) return;
    // Processing runs outside the chat's lane: the next update of this chat (a /speak) need not wait for it.
    const { locale, chat, from } = ctx;
    deps.clipWork.schedule(String(from.id), () =>
      takeClip(deps, locale, chat, from, message.message_id, audio).catch((error: unknown) => {
        replyWithError(deps.outbox, deps.logger, { locale, chatId: chat.id, userId: from.id, replyTo: message.message_id }, error);
      }),
    );
  });
  return composer;
}

function audioOf(message: Message): IncomingAudio | null {
  if ('voice' in message) return { fileId: message.voice.file_id, fileSize: message.voice.file_size };
  if ('audio' in message) return { fileId: message.audio.file_id, fileSize: message.audio.file_size };
  if ('document' in message && message.document.mime_type?.startsWith('audio/'))
    return { fileId: message.document.file_id, fileSize: message.document.file_size };
  return null;
}

async function takeClip(deps: HandlerDeps, locale: Locale, chat: Chat, from: User, messageId: number, audio: IncomingAudio): Promise<void> {
  const identity = identityOf(from);
  const reply = (text: string) => deps.outbox.post(chat.id, text, { replyTo: messageId });
  const consent = deps.vocalis.status(identity).consent;
  if (!consent) return reply(t(locale, 'telegram.voice_without_consent'));
  if (consent.state === 'offered') return reply(t(locale, 'telegram.voice_offer_pending'));

  const maxMb = Math.floor(deps.maxDownloadBytes / (1024 * 1024));
  if ((audio.fileSize ?? 0) > deps.maxDownloadBytes) return reply(t(locale, 'telegram.file_too_big', { max: maxMb }));
  let bytes: Uint8Array;
  try {
    bytes = await downloadFile(deps.outbox, audio.fileId, deps.maxDownloadBytes);
  } catch (error) {
    if (!(error instanceof FileDownloadError)) throw error;
    deps.logger.info({ chatId: chat.id, userId: from.id, reason: error.reason }, 'voice download refused');
    return reply(error.reason === 'too_big' ? t(locale, 'telegram.file_too_big', { max: maxMb }) : t(locale, 'telegram.file_unavailable'));
  }

  const started = performance.now();
  const outcome = await deps.vocalis.addClip({ identity, audio: bytes });
  deps.logger.info(
    {
      chatId: chat.id,
      userId: from.id,
      bytes: bytes.byteLength,
      outcome: outcome.kind,
      netSpeechSeconds: Math.round(outcome.verdict.netSpeechSeconds * 10) / 10,
      ms: Math.round(performance.now() - started),
    },
    'voice clip handled',
  );
  reply(clipReply(locale, outcome));
  if (outcome.kind === 'stored' && outcome.clone) {
    const voice = deps.vocalis.status(identity).voice;
    deps.clones.follow({
      chatId: chat.id,
      replyTo: messageId,
      locale,
      jobId: outcome.clone.jobId,
      position: outcome.clone.position,
      etaSeconds: outcome.clone.etaSeconds,
      previewReady: voice?.currentVersion !== null && voice?.currentVersion !== undefined,
    });
  }
}

/** Progress, and for anything wrong what it is and what to do; "not enough speech yet" is the progress itself. */
export function clipReply(locale: Locale, outcome: ClipOutcome): string {
  if (outcome.kind === 'refused') return [t(locale, 'telegram.clip_refused'), ...problemLines(locale, outcome.verdict, true)].join('\n');
  return [renderProgress(locale, outcome.verdict), ...problemLines(locale, outcome.verdict, false)].join('\n');
}

import { Composer } from 'telegraf';
import type { Message, User } from 'telegraf/types';
import { t } from '../../i18n/catalogue.ts';
import { renderMarkCheck } from '../../i18n/mark-messages.ts';
import { displayName, type BotContext } from './bot-context.ts';
import { downloadFile, FileDownloadError } from './file-download.ts';
import type { HandlerDeps } from './handler-deps.ts';

/**
 * /verify as a reply to a voice note, an audio file or an audio document: the core
 * looks for this deployment's mark and the answer goes back as a reply. The file is
 * only held in memory for the check; nothing of it is kept or logged.
 */
export function verifyHandlers(deps: HandlerDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  composer.command('verify', async (ctx) => {
    const reply = (text: string): void => deps.outbox.post(ctx.chat.id, text, { replyTo: ctx.message.message_id });
    const target = ctx.message.reply_to_message;
    const file = target ? audioFileOf(target) : null;
    if (!file) return reply(t(ctx.locale, 'mark.needs_audio'));
    if ((file.size ?? 0) > deps.maxDownloadBytes)
      return reply(t(ctx.locale, 'telegram.file_too_big', { max: Math.floor(deps.maxDownloadBytes / (1024 * 1024)) }));
    let bytes: Uint8Array;
    try {
      bytes = await downloadFile(deps.outbox, file.id, deps.maxDownloadBytes);
    } catch (error) {
      if (!(error instanceof FileDownloadError)) throw error;
      return reply(
        t(ctx.locale, error.reason === 'too_big' ? 'telegram.file_too_big' : 'telegram.file_unavailable', {
          max: Math.floor(deps.maxDownloadBytes / (1024 * 1024)),
        }),
      );
    }
    const started = performance.now();
    const check = await deps.vocalis.checkMark(bytes);
    deps.logger.info(
      {
        chatId: ctx.chat.id,
        userId: ctx.from.id,
        result: check.status === 'synthetic' ? `synthetic:${check.voice.status}` : check.status,
        ms: Math.round(performance.now() - started),
      },
      'mark checked',
    );
    reply(renderMarkCheck(ctx.locale, check, (owner) => ownerName(owner, ctx.from)));
  });
  return composer;
}

function audioFileOf(message: Message): { id: string; size: number | undefined } | null {
  if ('voice' in message) return { id: message.voice.file_id, size: message.voice.file_size };
  if ('audio' in message) return { id: message.audio.file_id, size: message.audio.file_size };
  if ('document' in message && message.document.mime_type?.startsWith('audio/')) return { id: message.document.file_id, size: message.document.file_size };
  return null;
}

/**
 * The owner by name when it is the person asking; otherwise by a link to their
 * Telegram profile (the bot knows their id, not their current name).
 */
function ownerName(owner: { platform: string; platformUserId: string }, asking: User): string {
  if (owner.platform !== 'telegram') return `${owner.platform}:${owner.platformUserId}`;
  return String(asking.id) === owner.platformUserId ? displayName(asking) : `tg://user?id=${owner.platformUserId}`;
}

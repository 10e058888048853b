import type { MiddlewareFn } from 'telegraf';
import { isUserFacingError } from '../../core/user-facing-error.ts';
import type { Locale } from '../../i18n/catalogue.ts';
import { renderError } from '../../i18n/error-messages.ts';
import type { Logger } from '../../observability/logger.ts';
import type { BotContext } from './bot-context.ts';
import { answerCallback } from './callback-answers.ts';
import type { Outbox } from './outbox.ts';
import { telegramErrorCode } from './outbox.ts';
import { SendQueueClosedError } from './send-queue.ts';

/**
 * Turns a failed update into a message the person can act on, in their language.
 * Coded errors (consent, audio, rate limit…) get their catalogue message; anything
 * else is a bug, logged with its stack and shown as a generic apology. Logs carry
 * ids and codes only — never message text, captions or audio.
 */
export function errorReply(outbox: Outbox, logger: Logger): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (error instanceof SendQueueClosedError) return;
      const ids = { updateId: ctx.update.update_id, chatId: ctx.chat?.id, userId: ctx.from?.id };
      logFailure(logger, ids, error);
      const message = renderError(ctx.locale, error);
      if (ctx.callbackQuery) {
        outbox.settle(answerCallback(ctx, outbox, message, true), ctx.chat?.id ?? 0, 'answerCallbackQuery');
        return;
      }
      if (ctx.chat) outbox.post(ctx.chat.id, message, ctx.msg ? { replyTo: ctx.msg.message_id } : {});
    }
  };
}

/** The same answer for work that runs after its update's handler returned (clip processing). */
export function replyWithError(
  outbox: Outbox,
  logger: Logger,
  target: { locale: Locale; chatId: number; userId: number; replyTo: number },
  error: unknown,
): void {
  if (error instanceof SendQueueClosedError) return;
  logFailure(logger, { chatId: target.chatId, userId: target.userId }, error);
  outbox.post(target.chatId, renderError(target.locale, error), { replyTo: target.replyTo });
}

function logFailure(logger: Logger, ids: Record<string, number | undefined>, error: unknown): void {
  if (isUserFacingError(error)) logger.info({ ...ids, code: error.code }, 'telegram request refused');
  else
    logger.error({ ...ids, errorName: error instanceof Error ? error.name : typeof error, apiErrorCode: telegramErrorCode(error) }, 'telegram update failed');
}

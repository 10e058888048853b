import type { MiddlewareFn } from 'telegraf';
import type { BotContext } from './bot-context.ts';
import type { Outbox } from './outbox.ts';
import { t } from '../../i18n/catalogue.ts';

/**
 * Telegram shows a spinner on a pressed button until the bot answers the callback
 * query. Handlers answer through `answerCallback`; this middleware answers whatever
 * a handler left unanswered (an unknown or stale button, a failure), so every query
 * gets exactly one answer.
 */
const answered = new WeakSet<BotContext>();

export function answerCallback(ctx: BotContext, outbox: Outbox, text?: string, alert = false): Promise<boolean> {
  const query = ctx.callbackQuery;
  if (!query || answered.has(ctx)) return Promise.resolve(false);
  answered.add(ctx);
  return outbox.answerCallback(query.id, text, alert);
}

export function isAnswered(ctx: BotContext): boolean {
  return answered.has(ctx);
}

export function callbackAnswers(outbox: Outbox): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      if (ctx.callbackQuery && !answered.has(ctx))
        outbox.settle(answerCallback(ctx, outbox, t(ctx.locale, 'telegram.button_stale')), ctx.chat?.id ?? 0, 'answerCallbackQuery');
    }
  };
}

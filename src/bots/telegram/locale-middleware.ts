import type { MiddlewareFn } from 'telegraf';
import { localeFrom } from '../../i18n/locale.ts';
import type { BotContext } from './bot-context.ts';

/** Every reply is in the sender's language: Telegram's language_code, mapped to a catalogue locale. */
export const localeMiddleware: MiddlewareFn<BotContext> = (ctx, next) => {
  ctx.locale = localeFrom(ctx.from?.language_code);
  return next();
};

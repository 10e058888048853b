import { Composer } from 'telegraf';
import { t, type Locale } from '../../i18n/catalogue.ts';
import type { BotContext } from './bot-context.ts';
import type { HandlerDeps } from './handler-deps.ts';

/** /start and /help: what the bot does and how consent works. */
export function startHelpHandlers(deps: HandlerDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  composer.start((ctx) => {
    deps.outbox.post(ctx.chat.id, t(ctx.locale, 'telegram.start'), { replyTo: ctx.message.message_id });
  });
  composer.help((ctx) => {
    deps.outbox.post(ctx.chat.id, t(ctx.locale, 'telegram.help'), { replyTo: ctx.message.message_id });
  });
  return composer;
}

const MENU = ['clone', 'speak', 'voice', 'delete', 'revoke', 'verify', 'help'] as const;

/** The command menu Telegram shows, from the shared catalogue, in one language. */
export function commandMenu(locale: Locale): Array<{ command: string; description: string }> {
  return MENU.map((command) => ({ command, description: t(locale, `telegram.command.${command}`) }));
}

import { Composer, type Telegraf } from 'telegraf';
import type { BotContext } from './bot-context.ts';
import { callbackAnswers } from './callback-answers.ts';
import { consentHandlers } from './consent-handlers.ts';
import { errorReply } from './error-reply.ts';
import type { HandlerDeps } from './handler-deps.ts';
import { localeMiddleware } from './locale-middleware.ts';
import { sequentializeByChat } from './sequentialize.ts';
import { speakHandlers } from './speak-handler.ts';
import { startHelpHandlers } from './start-help.ts';
import { verifyHandlers } from './verify-handler.ts';
import { voiceAdminHandlers } from './voice-admin-handlers.ts';
import { voiceIntakeHandlers } from './voice-intake.ts';

/**
 * The middleware chain, outermost first: language, one update at a time per chat
 * (detached from the update loop), then the guarantee that every
 * button press is answered, then error replies, then the handlers. Updates without
 * a sender (channel posts) are not for this bot.
 */
export function composeBot(bot: Telegraf<BotContext>, deps: HandlerDeps): void {
  bot.use(localeMiddleware);
  bot.use(sequentializeByChat(deps.inFlight, deps.logger));
  bot.use(callbackAnswers(deps.outbox));
  bot.use(errorReply(deps.outbox, deps.logger));
  bot.use(
    Composer.optional(
      (ctx) => ctx.from !== undefined && ctx.chat !== undefined,
      Composer.compose([
        startHelpHandlers(deps),
        consentHandlers(deps),
        voiceIntakeHandlers(deps),
        speakHandlers(deps),
        verifyHandlers(deps),
        voiceAdminHandlers(deps),
      ]),
    ),
  );
}

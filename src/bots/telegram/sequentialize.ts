import type { MiddlewareFn } from 'telegraf';
import type { Logger } from '../../observability/logger.ts';
import type { BotContext } from './bot-context.ts';
import type { InFlight } from './in-flight.ts';
import { KeyedSerial } from './keyed-serial.ts';

/**
 * Handles one chat's updates one at a time, in arrival order, and detaches them from
 * telegraf's loop. telegraf awaits a whole getUpdates batch (and a webhook delivery)
 * before taking the next, so one slow voice clip would hold up every other chat; and
 * inside a batch it runs updates concurrently, so "/start /clone /help" from one chat
 * could be answered out of order. Here each chat has its own lane; chats run in parallel.
 * A command that ends a consent (/delete, /revoke) does not wait in the lane: it must stop
 * the /speak that may be running ahead of it, not be answered after that /speak is done.
 */
export function sequentializeByChat(inFlight: InFlight, logger: Logger): MiddlewareFn<BotContext> {
  const lanes = new KeyedSerial();
  return (ctx, next) => {
    const chatId = ctx.chat?.id;
    const task = endsConsent(ctx) ? next() : lanes.run(chatId === undefined ? `update:${ctx.update.update_id}` : String(chatId), () => next());
    inFlight.track(
      task.catch((error: unknown) => {
        // errorReply inside the lane answers the user; this only sees a failure of that reply itself.
        logger.error({ updateId: ctx.update.update_id, chatId, errorName: error instanceof Error ? error.name : typeof error }, 'telegram update failed');
      }),
    );
    return Promise.resolve();
  };
}

const CONSENT_ENDING_COMMANDS: ReadonlySet<string> = new Set(['delete', 'revoke']);

/** A message that starts with /delete or /revoke (also as /delete@SomeBot). */
function endsConsent(ctx: BotContext): boolean {
  const message = ctx.message;
  if (!message || !('text' in message)) return false;
  const command = message.entities?.[0];
  if (command?.type !== 'bot_command' || command.offset !== 0) return false;
  const name = message.text.slice(1, command.length).split('@')[0]?.toLowerCase() ?? '';
  return CONSENT_ENDING_COMMANDS.has(name);
}

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
 */
export function sequentializeByChat(inFlight: InFlight, logger: Logger): MiddlewareFn<BotContext> {
  const lanes = new KeyedSerial();
  return (ctx, next) => {
    const chatId = ctx.chat?.id;
    const task = lanes.run(chatId === undefined ? `update:${ctx.update.update_id}` : String(chatId), () => next());
    inFlight.track(
      task.catch((error: unknown) => {
        // errorReply inside the lane answers the user; this only sees a failure of that reply itself.
        logger.error({ updateId: ctx.update.update_id, chatId, errorName: error instanceof Error ? error.name : typeof error }, 'telegram update failed');
      }),
    );
    return Promise.resolve();
  };
}

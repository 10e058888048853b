import type { MiddlewareFn } from 'telegraf';
import type { BotContext } from './bot-context.ts';
import { KeyedSerial } from './keyed-serial.ts';

/**
 * Handles one chat's updates one at a time, in arrival order. telegraf runs a
 * getUpdates batch concurrently, so without this a fast "/start /clone /help" could
 * be answered out of order; different chats still run in parallel.
 */
export function sequentializeByChat(): MiddlewareFn<BotContext> {
  const lanes = new KeyedSerial();
  return (ctx, next) => {
    const chatId = ctx.chat?.id;
    return chatId === undefined ? next() : lanes.run(String(chatId), () => next());
  };
}

import { Composer } from 'telegraf';
import { t } from '../../i18n/catalogue.ts';
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

/** The command menu Telegram shows, in each supported language. */
export const COMMANDS = {
  en: [
    { command: 'clone', description: 'Consent notice and start cloning your voice' },
    { command: 'speak', description: 'Say a text in your AI voice' },
    { command: 'voice', description: 'Your consent, sample and voice' },
    { command: 'delete', description: 'Revoke consent and delete your voice' },
    { command: 'revoke', description: 'Admins: revoke a member\'s voice (reply to them)' },
    { command: 'help', description: 'All commands' },
  ],
  zh: [
    { command: 'clone', description: '同意声明，开始克隆你的声音' },
    { command: 'speak', description: '用你的 AI 声音说一段话' },
    { command: 'voice', description: '你的同意、样本和声音' },
    { command: 'delete', description: '撤回同意并删除你的声音' },
    { command: 'revoke', description: '管理员：撤回成员的声音（回复其消息）' },
    { command: 'help', description: '所有命令' },
  ],
} as const;

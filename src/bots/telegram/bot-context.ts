import type { Context } from 'telegraf';
import type { Chat, User } from 'telegraf/types';
import type { PlatformIdentity } from '../../consent/consent-gate.ts';
import type { RequestContext } from '../../core/vocalis.ts';
import type { Locale } from '../../i18n/locale.ts';

/** telegraf's Context plus what the locale middleware adds before any handler runs. */
export interface BotContext extends Context {
  locale: Locale;
}

export const PLATFORM = 'telegram';

/** A Telegram user as the core knows them. */
export function identityOf(user: User): PlatformIdentity {
  return { platform: PLATFORM, platformUserId: String(user.id) };
}

/** The chat a request happens in; consents are scoped to the chat where /clone happened. */
export function requestContextOf(chat: Chat): RequestContext {
  return { platform: PLATFORM, contextId: String(chat.id) };
}

export function isGroupChat(chat: Chat): boolean {
  return chat.type === 'group' || chat.type === 'supergroup';
}

/** How a person is named in captions and notices: @username when they have one. */
export function displayName(user: User): string {
  return user.username ? `@${user.username}` : user.first_name;
}

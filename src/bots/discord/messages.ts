import { t, type Locale, type MessageKey } from '../../i18n/catalogue.ts';
import { renderError } from '../../i18n/error-messages.ts';
import { AdapterError } from './adapter-error.ts';

/** t() for a key chosen at run time, with whatever params it has. */
export function text(locale: Locale, key: MessageKey, params: Readonly<Record<string, string | number>> = {}): string {
  return (t as (locale: Locale, key: MessageKey, params: Readonly<Record<string, string | number>>) => string)(locale, key, params);
}

/** What a user is told when their request fails: adapter refusals and core errors alike. */
export function describeError(locale: Locale, error: unknown): string {
  if (error instanceof AdapterError) return text(locale, error.key, error.params);
  return renderError(locale, error);
}

/** A mention that renders as the member's name without pinging them (allowedMentions is empty). */
export function mention(userId: string): string {
  return `<@${userId}>`;
}

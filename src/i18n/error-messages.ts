import { isCodedError } from '../core/user-facing-error.ts';
import { t, type Locale, type MessageKey } from './catalogue.ts';
import { en } from './messages-en.ts';

/**
 * What a person is told when a request fails: the message for the error's code in
 * their language, or a generic apology for anything without a known code (its
 * internal message never reaches a chat).
 */
export function renderError(locale: Locale, error: unknown): string {
  if (isCodedError(error)) {
    const details = (error as { details?: Record<string, string | number> }).details ?? {};
    for (const key of [`error.${error.code}`, `audio.error.${error.code}`]) {
      if (isMessageKey(key)) return fill(locale, key, details);
    }
  }
  return t(locale, 'error.generic');
}

function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

/** Fills whatever placeholders the message has from the error's details. */
function fill(locale: Locale, key: MessageKey, details: Record<string, string | number>): string {
  return (t as (locale: Locale, key: MessageKey, params: Record<string, string | number>) => string)(locale, key, details);
}

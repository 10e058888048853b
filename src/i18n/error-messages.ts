import { detailsOf, isUserFacingError } from '../core/user-facing-error.ts';
import { t, type Locale, type MessageKey } from './catalogue.ts';
import { en } from './messages-en.ts';

/**
 * What a person is told when a request fails: the message for the error's code in
 * their language, or a generic apology for anything that is not one of the parts'
 * user-facing errors (its internal message never reaches a chat).
 */
export function renderError(locale: Locale, error: unknown): string {
  return isUserFacingError(error) ? renderErrorCode(locale, error.code, detailsOf(error)) : t(locale, 'error.generic');
}

/**
 * The catalogue's message for a code (`error.<code>`, else `audio.error.<code>`), e.g. the
 * code a failed fine-tune left in the job history; the generic apology for a code it lacks.
 */
export function renderErrorCode(locale: Locale, code: string, details: Readonly<Record<string, string | number>> = {}): string {
  for (const key of [`error.${code}`, `audio.error.${code}`]) {
    if (isMessageKey(key)) return fill(locale, key, details);
  }
  return t(locale, 'error.generic');
}

function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

/** Fills whatever placeholders the message has from the error's details. */
function fill(locale: Locale, key: MessageKey, details: Readonly<Record<string, string | number>>): string {
  return (t as (locale: Locale, key: MessageKey, params: Readonly<Record<string, string | number>>) => string)(locale, key, details);
}

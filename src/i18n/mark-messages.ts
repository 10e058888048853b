import type { MarkCheck } from '../core/mark-check.ts';
import type { UserRef } from '../storage/user-directory.ts';
import { t, type Locale } from './catalogue.ts';

/**
 * A mark check as one sentence. The adapter says how to name the owner (a mention
 * on Discord, an @name on Telegram, platform:id in the CLI); the date is the day only.
 */
export function renderMarkCheck(locale: Locale, check: MarkCheck, ownerName: (owner: UserRef) => string): string {
  switch (check.status) {
    case 'no_mark':
      return t(locale, 'mark.none');
    case 'unreadable':
      return t(locale, 'mark.unreadable');
    case 'synthetic':
      switch (check.voice.status) {
        case 'known':
          return t(locale, 'mark.synthetic_voice', { owner: ownerName(check.voice.owner), date: check.voice.createdAt.slice(0, 10) });
        case 'deleted':
          return t(locale, 'mark.synthetic_deleted', { date: check.voice.createdOn });
        case 'unknown':
          return t(locale, 'mark.synthetic_unknown');
      }
  }
}

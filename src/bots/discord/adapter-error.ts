import { DiscordAPIError } from 'discord.js';
import { isUserFacingError } from '../../core/user-facing-error.ts';
import type { MessageKey } from '../../i18n/catalogue.ts';

/**
 * A refusal the Discord adapter itself decides (not in voice, no permission, busy),
 * carrying the catalogue key of what to tell the user.
 */
export class AdapterError extends Error {
  readonly key: MessageKey;
  readonly params: Readonly<Record<string, string | number>>;
  constructor(key: MessageKey, params: Record<string, string | number> = {}) {
    super(key);
    this.name = 'AdapterError';
    this.key = key;
    this.params = params;
  }
}

/** What a failure was, for the log: the catalogue key, the part's code, Discord's API code or the error's name — never its text. */
export function failureCode(error: unknown): string {
  if (error instanceof AdapterError) return error.key;
  if (isUserFacingError(error)) return error.code;
  if (error instanceof DiscordAPIError) return String(error.code);
  return error instanceof Error ? error.name : typeof error;
}

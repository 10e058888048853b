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

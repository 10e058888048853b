/**
 * Errors a person can act on carry a stable `code`; adapters turn the code into a
 * message in the user's language (src/i18n). Anything without a code is a bug and is
 * shown as a generic failure, never with its internal message.
 */
export interface CodedError {
  readonly code: string;
  readonly message: string;
}

export function isCodedError(error: unknown): error is Error & CodedError {
  if (!(error instanceof Error)) return false;
  const code: unknown = (error as { code?: unknown }).code;
  // Node's own errors (ERR_*, ENOENT…) are internal, not something to tell a user.
  return typeof code === 'string' && /^[a-z][a-z_]+$/.test(code);
}

export class VocalisError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, string | number>>;
  constructor(code: string, message: string, details: Record<string, string | number> = {}) {
    super(message);
    this.name = 'VocalisError';
    this.code = code;
    this.details = details;
  }
}

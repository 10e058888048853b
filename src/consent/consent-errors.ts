/**
 * The consent part's one error type. Its codes are a closed set: each has a message in
 * the catalogue (src/i18n, `error.<code>`) except `unknown_consent` (a button for a consent
 * that does not exist: the generic apology) and `invalid_consent_transition` (a bug).
 */

/** Why the gate refused a ticket (record, train or speak). */
export const DENIAL_CODES = [
  'no_consent',
  'offer_pending',
  'not_ready',
  'not_verified',
  'not_allowed_speaker',
  'out_of_scope',
  'forbidden_text',
  'unknown_user',
] as const;
export type DenialCode = (typeof DENIAL_CODES)[number];

export const CONSENT_ERROR_CODES = [
  ...DENIAL_CODES,
  'consent_exists',
  'offer_expired',
  'unknown_consent',
  'not_permitted',
  'invalid_consent_transition',
] as const;
export type ConsentErrorCode = (typeof CONSENT_ERROR_CODES)[number];

export class ConsentError extends Error {
  readonly code: ConsentErrorCode;
  /** Figures the user-facing message shows (src/i18n). */
  readonly details: Readonly<Record<string, string | number>>;
  constructor(code: ConsentErrorCode, message: string, details: Record<string, string | number> = {}) {
    super(message);
    this.name = 'ConsentError';
    this.code = code;
    this.details = details;
  }
}

/** The gate's refusal: the consent does not (or no longer) allow this use. */
export class ConsentDeniedError extends ConsentError {
  declare readonly code: DenialCode;
  constructor(code: DenialCode, message: string) {
    super(code, message);
    this.name = 'ConsentDeniedError';
  }
}

/**
 * Whether work ended because the gate refused it: directly, or as the cause of the
 * AbortError a held ticket's timer or a backend raised when the consent ended.
 */
export function isConsentDenial(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    if (e instanceof ConsentDeniedError) return true;
    e = 'cause' in e ? e.cause : undefined;
  }
  return false;
}

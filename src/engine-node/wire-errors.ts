import { CONSENT_ERROR_CODES, ConsentDeniedError, ConsentError, DENIAL_CODES, type ConsentErrorCode, type DenialCode } from '../consent/consent-errors.ts';
import { VOCALIS_ERROR_CODES, VocalisError, type VocalisErrorCode } from '../core/user-facing-error.ts';
import { BACKEND_ERROR_CODES, BackendError, type BackendErrorCode } from '../engine/backend.ts';
import type { WireError } from './wire-format.ts';

/**
 * Typed errors cross the wire as their family and code, so a bot answers a refusal on an
 * engine node with the same catalogue message as one made in its own process: a consent
 * denial stays a `ConsentDeniedError` (`isConsentDenial` holds), a backend's code stays its
 * code. Anything else is a bug or a failure on the node and arrives as a plain Error, shown
 * as the generic apology, its text never sent (it may hold paths or the request's text).
 */
export function toWireError(error: unknown): WireError {
  const denial = consentDenialIn(error);
  if (denial) return { family: 'consent_denied', code: denial.code, details: {} };
  if (error instanceof ConsentError) return { family: 'consent', code: error.code, details: error.details };
  if (error instanceof BackendError) return { family: 'backend', code: error.code, details: error.details };
  if (error instanceof VocalisError) return { family: 'vocalis', code: error.code, details: error.details };
  return { family: 'internal', code: 'engine_failed', details: {} };
}

/** The error a wire error stands for; codes outside each part's closed set become the generic failure. */
export function fromWireError(wire: WireError): Error {
  const message = `refused by the engine node (${wire.family}: ${wire.code})`;
  switch (wire.family) {
    case 'consent_denied':
      if (isOneOf(DENIAL_CODES, wire.code)) return new ConsentDeniedError(wire.code as DenialCode, message);
      break;
    case 'consent':
      if (isOneOf(CONSENT_ERROR_CODES, wire.code)) return new ConsentError(wire.code as ConsentErrorCode, message, { ...wire.details });
      break;
    case 'backend':
      if (isOneOf(BACKEND_ERROR_CODES, wire.code)) return new BackendError(wire.code as BackendErrorCode, message, { ...wire.details });
      break;
    case 'vocalis':
      if (isOneOf(VOCALIS_ERROR_CODES, wire.code)) return new VocalisError(wire.code as VocalisErrorCode, message, { ...wire.details });
      break;
    case 'internal':
      break;
  }
  return new Error(`the engine node failed (${wire.family}: ${wire.code})`);
}

/** The ticket's abort reason arrives as itself or as the cause of an AbortError. */
function consentDenialIn(error: unknown): ConsentDeniedError | undefined {
  let e: unknown = error;
  for (let depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    if (e instanceof ConsentDeniedError) return e;
    e = 'cause' in e ? e.cause : undefined;
  }
  return undefined;
}

function isOneOf(codes: readonly string[], code: string): boolean {
  return codes.includes(code);
}

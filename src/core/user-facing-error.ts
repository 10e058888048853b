import { ConsentError } from '../consent/consent-errors.ts';
import { AudioDecodeError } from '../engine/audio/audio-errors.ts';
import { BackendError } from '../engine/backend.ts';
import { RecognizerUnavailableError } from '../engine/recognition/reading-recognition.ts';
import { StorageError } from '../storage/storage-error.ts';

/** The core's own refusals: a closed set, each with a message in the catalogue (`error.<code>`). */
export const VOCALIS_ERROR_CODES = [
  'not_your_consent',
  'no_consent',
  'sample_complete',
  'marked_sample',
  'clone_in_progress',
  'queue_unavailable',
  'no_voice',
  'empty_text',
  'text_too_long',
  'rate_limited',
  'not_permitted',
  // Engine nodes (VOCALIS_ENGINE=remote): none reachable, or the one speaking went away mid-utterance.
  'engine_unavailable',
  'engine_node_lost',
] as const;

export type VocalisErrorCode = (typeof VOCALIS_ERROR_CODES)[number];

export class VocalisError extends Error {
  readonly code: VocalisErrorCode;
  readonly details: Readonly<Record<string, string | number>>;
  constructor(code: VocalisErrorCode, message: string, details: Record<string, string | number> = {}) {
    super(message);
    this.name = 'VocalisError';
    this.code = code;
    this.details = details;
  }
}

/**
 * Errors a person can act on: each part's own error type, whose `code` is stable and whose
 * message for the user comes from the catalogue by that code (src/i18n/error-messages.ts).
 * Anything else is a bug or a platform failure and is shown as a generic failure, never
 * with its internal message.
 */
const USER_FACING = [VocalisError, ConsentError, BackendError, AudioDecodeError, RecognizerUnavailableError, StorageError] as const;

export type UserFacingError = InstanceType<(typeof USER_FACING)[number]>;

export function isUserFacingError(error: unknown): error is UserFacingError {
  return USER_FACING.some((type) => error instanceof type);
}

/** Figures the user-facing message shows (`{ max: 5000 }` for `text_too_long`), where the error has any. */
export function detailsOf(error: UserFacingError): Readonly<Record<string, string | number>> {
  return 'details' in error ? error.details : {};
}

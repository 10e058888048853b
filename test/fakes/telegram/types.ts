import type { ResponseParameters } from 'telegraf/types';

/** A file part of a multipart upload (e.g. the `voice` of sendVoice). */
export interface UploadedFile {
  readonly field: string;
  readonly filename: string;
  readonly bytes: Buffer;
}

/** The JSON envelope every Bot API method answers with. */
export type ApiResponse =
  | { readonly ok: true; readonly result: unknown }
  | {
      readonly ok: false;
      readonly error_code: number;
      readonly description: string;
      readonly parameters?: ResponseParameters;
    };

/** One API call as the fake saw it; `params` are decoded (JSON fields parsed, ids numeric). */
export interface RecordedCall {
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly uploads: readonly UploadedFile[];
  /** Date.now() when the request arrived (after its body was read). */
  readonly at: number;
  /** Filled in once answered. */
  response?: ApiResponse;
}

/** Thrown by method handlers to answer `{ ok: false, ... }` with an HTTP status equal to the code. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: number;
  readonly parameters: ResponseParameters | undefined;

  constructor(code: number, description: string, parameters?: ResponseParameters) {
    super(description);
    this.code = code;
    this.parameters = parameters;
  }

  toResponse(): ApiResponse {
    return {
      ok: false,
      error_code: this.code,
      description: this.message,
      ...(this.parameters !== undefined ? { parameters: this.parameters } : {}),
    };
  }
}

export function badRequest(detail: string): ApiError {
  return new ApiError(400, `Bad Request: ${detail}`);
}

export function tooManyRequests(retryAfterSeconds: number): ApiError {
  return new ApiError(429, `Too Many Requests: retry after ${retryAfterSeconds}`, { retry_after: retryAfterSeconds });
}

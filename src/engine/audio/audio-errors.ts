/** Stable reasons a decode can fail; bots map these to user messages, logs keep them as-is. */
export type AudioDecodeErrorCode = 'empty' | 'too_large' | 'too_long' | 'truncated' | 'corrupt' | 'not_audio' | 'no_audio_stream' | 'timeout' | 'unsupported';

/**
 * A decode failure. The message names the format and the limit involved, never
 * audio content or user text, so it is safe to log.
 */
export class AudioDecodeError extends Error {
  readonly code: AudioDecodeErrorCode;

  constructor(code: AudioDecodeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AudioDecodeError';
    this.code = code;
  }
}

export function isAudioDecodeError(value: unknown): value is AudioDecodeError {
  return value instanceof AudioDecodeError;
}

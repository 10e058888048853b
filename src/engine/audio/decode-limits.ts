/** Bounds on what one decode may cost: bytes in, seconds out, wall time. */
export interface DecodeLimits {
  /** Largest accepted input, in bytes. */
  readonly maxInputBytes: number;
  /** Longest decoded duration kept, in seconds; longer input fails with 'too_long'. */
  readonly maxDurationSeconds: number;
  /** Wall-clock budget for one decode (ffmpeg is killed past it), in milliseconds. */
  readonly maxWallMs: number;
}

/**
 * Defaults sized for voice samples: Telegram's getFile caps downloads at 20 MB,
 * and a sample never needs more than a quarter of an hour of audio.
 */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxInputBytes: 50 * 1024 * 1024,
  maxDurationSeconds: 15 * 60,
  maxWallMs: 30_000,
};

export function resolveLimits(partial: Partial<DecodeLimits> | undefined): DecodeLimits {
  return { ...DEFAULT_DECODE_LIMITS, ...partial };
}

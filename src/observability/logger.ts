import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs. Tokens, message text and audio must never reach them: call sites
 * log ids and figures only, and these paths are redacted as a second line of defence.
 */
const REDACT = [
  'token',
  '*.token',
  'password',
  '*.password',
  'masterKey',
  '*.masterKey',
  'text',
  '*.text',
  'audio',
  '*.audio',
  'caption',
  '*.caption',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'url',
  '*.url',
];

export function createLogger(options: { level: string; name?: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      name: options.name ?? 'vocalis',
      level: options.level,
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: { err: serializeError },
    },
    options.destination as pino.DestinationStream | undefined,
  );
}

/** Errors keep their code and message; stacks stay, but nothing from request bodies. */
function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = 'code' in error ? error.code : undefined;
  return { type: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}), stack: error.stack };
}

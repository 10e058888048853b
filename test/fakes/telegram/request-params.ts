import type { IncomingMessage } from 'node:http';
import { multipartBoundary, readMultipart, PayloadTooLargeError } from './multipart.ts';
import type { UploadedFile } from './types.ts';

/** The Bot API accepts parameters as query string, urlencoded, JSON or multipart. */
export interface RequestParams {
  readonly params: Record<string, unknown>;
  readonly uploads: readonly UploadedFile[];
  /** JSON-typed fields whose string value did not parse (e.g. telegraf's "[object Object]"). */
  readonly malformed: readonly string[];
}

export class BadRequestBodyError extends Error {
  override readonly name = 'BadRequestBodyError';
}

export { PayloadTooLargeError };

// Multipart and query values arrive as strings; these fields carry JSON like in the real API.
const JSON_FIELDS = new Set([
  'reply_markup',
  'entities',
  'caption_entities',
  'allowed_updates',
  'commands',
  'scope',
  'reply_parameters',
  'link_preview_options',
  'media',
  'results',
]);
const INTEGER_FIELDS = new Set([
  'chat_id',
  'message_id',
  'user_id',
  'offset',
  'limit',
  'timeout',
  'duration',
  'reply_to_message_id',
  'cache_time',
  'message_thread_id',
  'max_connections',
]);
const BOOLEAN_FIELDS = new Set(['show_alert', 'drop_pending_updates', 'disable_notification', 'protect_content', 'allow_sending_without_reply']);

export async function readRequestParams(req: IncomingMessage, url: URL, maxUploadBytes: number): Promise<RequestParams> {
  const fromQuery = Object.fromEntries(url.searchParams);
  const contentType = req.headers['content-type'] ?? '';
  if (req.method === 'GET' || req.method === 'HEAD') {
    req.resume();
    return { ...coerce(fromQuery), uploads: [] };
  }
  const boundary = multipartBoundary(contentType);
  if (boundary !== undefined) {
    const parts = await readMultipart(req, boundary, maxUploadBytes);
    const params: Record<string, unknown> = { ...fromQuery };
    const uploads: UploadedFile[] = [];
    for (const part of parts) {
      if (part.filename !== undefined) {
        uploads.push({ field: part.name, filename: part.filename, bytes: part.data });
      } else {
        params[part.name] = part.data.toString('utf8');
      }
    }
    return { ...coerce(params), uploads };
  }
  const raw = await readAll(req, 1024 * 1024);
  if (raw.length === 0) return { ...coerce(fromQuery), uploads: [] };
  if (/application\/json/i.test(contentType)) {
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new BadRequestBodyError("Bad Request: can't parse JSON object");
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestBodyError("Bad Request: can't parse JSON object");
    }
    const query = coerce(fromQuery);
    return { params: { ...query.params, ...(body as Record<string, unknown>) }, malformed: query.malformed, uploads: [] };
  }
  const form = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  return { ...coerce({ ...fromQuery, ...form }), uploads: [] };
}

async function readAll(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += bytes.length;
    if (total > maxBytes) throw new PayloadTooLargeError();
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

function coerce(raw: Record<string, unknown>): { params: Record<string, unknown>; malformed: string[] } {
  const params: Record<string, unknown> = {};
  const malformed: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') {
      params[key] = value;
    } else if (JSON_FIELDS.has(key)) {
      try {
        params[key] = JSON.parse(value);
      } catch {
        params[key] = value;
        malformed.push(key);
      }
    } else {
      params[key] = coerceString(key, value);
    }
  }
  return { params, malformed };
}

function coerceString(key: string, value: string): unknown {
  if (INTEGER_FIELDS.has(key) && /^-?\d+$/.test(value)) return Number(value);
  if (BOOLEAN_FIELDS.has(key) && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

// Small HTTP helpers for the fake REST server: body parsing (JSON and multipart) and replies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Json } from './guild-state.ts';
import type { UploadedFile } from './messages.ts';

export interface ParsedBody {
  readonly json: Json | undefined;
  readonly files: UploadedFile[];
  readonly raw: Buffer;
}

export async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function asJsonObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/**
 * discord.js sends JSON, or multipart/form-data with `payload_json` plus `files[n]` parts
 * when attachments are involved. Node's own fetch Response parses multipart for us.
 */
export async function parseBody(req: IncomingMessage): Promise<ParsedBody> {
  const raw = await readRaw(req);
  const contentType = req.headers['content-type'] ?? '';
  if (raw.length === 0) return { json: undefined, files: [], raw };
  if (contentType.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    const files: UploadedFile[] = [];
    let json: Json | undefined;
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') json = asJsonObject(JSON.parse(value));
        continue;
      }
      files.push({ field, filename: value.name, contentType: value.type, data: Buffer.from(await value.arrayBuffer()) });
    }
    return { json, files, raw };
  }
  const parsed: unknown = JSON.parse(raw.toString('utf8'));
  // Command registration bodies are arrays; wrap them so every body is an object.
  return { json: Array.isArray(parsed) ? { items: parsed } : asJsonObject(parsed), files: [], raw };
}

/** Minimal headers that keep @discordjs/rest's bucket logic from ever waiting. */
function rateLimitHeaders(bucket: string): Record<string, string> {
  return {
    'x-ratelimit-limit': '50',
    'x-ratelimit-remaining': '49',
    'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 1),
    'x-ratelimit-reset-after': '1.000',
    'x-ratelimit-bucket': bucket,
    'x-ratelimit-scope': 'user',
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, bucket = 'fake'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...rateLimitHeaders(bucket) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, bucket = 'fake'): void {
  res.writeHead(204, rateLimitHeaders(bucket));
  res.end();
}

export function sendBytes(res: ServerResponse, data: Buffer, contentType: string): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': data.length });
  res.end(data);
}

/** Discord's JSON error shape, e.g. code 10008 Unknown Message. */
export function sendError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { message, code });
}

/**
 * Incremental multipart/form-data parser. Telegraf streams uploads with
 * `Transfer-Encoding: chunked` and no Content-Length, so parts are cut out of
 * the byte stream as chunks arrive instead of buffering the whole request first.
 */

export interface MultipartPart {
  readonly name: string;
  /** Present for file parts (`filename="..."` in Content-Disposition). */
  readonly filename?: string;
  readonly contentType?: string;
  readonly data: Buffer;
}

export class MultipartError extends Error {
  override readonly name = 'MultipartError';
}

type State = 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'done';

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

interface OpenPart {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
  chunks: Buffer[];
}

export class MultipartParser {
  readonly #delimiter: Buffer;
  readonly #parts: MultipartPart[] = [];
  #state: State = 'preamble';
  // Unconsumed bytes; never longer than a delimiter (or one header block) after push() returns.
  #pending: Buffer;
  #current: OpenPart | undefined;

  constructor(boundary: string) {
    if (boundary.length === 0 || boundary.length > 200) throw new MultipartError('invalid multipart boundary');
    this.#delimiter = Buffer.from(`\r\n--${boundary}`);
    // A virtual CRLF lets the first delimiter (which has no leading CRLF) match like the others.
    this.#pending = Buffer.from(CRLF);
  }

  push(chunk: Buffer): void {
    if (this.#state === 'done') return; // epilogue is ignored
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#drain();
  }

  /** Returns the parts; throws when the stream ended before the closing delimiter. */
  finish(): MultipartPart[] {
    if (this.#state !== 'done') throw new MultipartError('multipart body ended before its closing boundary');
    return this.#parts;
  }

  #drain(): void {
    for (;;) {
      const progressed = this.#step();
      if (!progressed || this.#state === 'done') return;
    }
  }

  #step(): boolean {
    switch (this.#state) {
      case 'preamble': {
        const at = this.#pending.indexOf(this.#delimiter);
        if (at < 0) {
          this.#keepTail();
          return false;
        }
        this.#pending = this.#pending.subarray(at + this.#delimiter.length);
        this.#state = 'afterDelimiter';
        return true;
      }
      case 'afterDelimiter': {
        if (this.#pending.length < 2) return false;
        if (this.#pending[0] === 0x2d && this.#pending[1] === 0x2d) {
          this.#state = 'done';
          return true;
        }
        const lineEnd = this.#pending.indexOf(CRLF);
        if (lineEnd < 0) return false;
        // RFC 2046 allows transport padding (whitespace) before the CRLF.
        if (this.#pending.subarray(0, lineEnd).toString('latin1').trim() !== '') {
          throw new MultipartError('garbage after multipart boundary');
        }
        this.#pending = this.#pending.subarray(lineEnd + CRLF.length);
        this.#state = 'headers';
        return true;
      }
      case 'headers': {
        // An empty header block starts directly with CRLF.
        if (this.#pending.length >= 2 && this.#pending[0] === 0x0d && this.#pending[1] === 0x0a) {
          this.#current = parseHeaders('');
          this.#pending = this.#pending.subarray(2);
          this.#state = 'body';
          return true;
        }
        const end = this.#pending.indexOf(HEADER_END);
        if (end < 0) {
          if (this.#pending.length > 16 * 1024) throw new MultipartError('multipart headers too long');
          return false;
        }
        this.#current = parseHeaders(this.#pending.subarray(0, end).toString('utf8'));
        this.#pending = this.#pending.subarray(end + HEADER_END.length);
        this.#state = 'body';
        return true;
      }
      case 'body': {
        const part = this.#current;
        if (part === undefined) throw new MultipartError('multipart body without headers');
        const at = this.#pending.indexOf(this.#delimiter);
        if (at < 0) {
          // Everything except a possible delimiter prefix at the end is body data.
          const safe = Math.max(0, this.#pending.length - (this.#delimiter.length - 1));
          if (safe > 0) {
            part.chunks.push(Buffer.from(this.#pending.subarray(0, safe)));
            this.#pending = this.#pending.subarray(safe);
          }
          return false;
        }
        part.chunks.push(Buffer.from(this.#pending.subarray(0, at)));
        this.#parts.push(closePart(part));
        this.#current = undefined;
        this.#pending = this.#pending.subarray(at + this.#delimiter.length);
        this.#state = 'afterDelimiter';
        return true;
      }
      case 'done':
        return false;
    }
  }

  #keepTail(): void {
    const keep = this.#delimiter.length - 1;
    if (this.#pending.length > keep) this.#pending = this.#pending.subarray(this.#pending.length - keep);
  }
}

function parseHeaders(block: string): OpenPart {
  let disposition = '';
  let contentType: string | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    // Telegraf writes `name:value` without a space; browsers write `name: value`.
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'content-disposition') disposition = value;
    else if (key === 'content-type') contentType = value;
  }
  const name = dispositionParam(disposition, 'name');
  if (name === undefined) throw new MultipartError('multipart part without a name');
  return { name, filename: dispositionParam(disposition, 'filename'), contentType, chunks: [] };
}

function dispositionParam(disposition: string, param: string): string | undefined {
  const match = new RegExp(`(?:^|;)\\s*${param}="([^"]*)"`, 'i').exec(disposition) ?? new RegExp(`(?:^|;)\\s*${param}=([^;\\s]+)`, 'i').exec(disposition);
  return match?.[1];
}

function closePart(part: OpenPart): MultipartPart {
  const data = Buffer.concat(part.chunks);
  return {
    name: part.name,
    data,
    ...(part.filename !== undefined ? { filename: part.filename } : {}),
    ...(part.contentType !== undefined ? { contentType: part.contentType } : {}),
  };
}

/** Reads a whole multipart stream, failing once it exceeds `maxBytes`. */
export async function readMultipart(body: AsyncIterable<Buffer | string>, boundary: string, maxBytes: number): Promise<MultipartPart[]> {
  const parser = new MultipartParser(boundary);
  let total = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += bytes.length;
    if (total > maxBytes) throw new PayloadTooLargeError();
    parser.push(bytes);
  }
  return parser.finish();
}

export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
  constructor() {
    super('Request Entity Too Large');
  }
}

/** Extracts the boundary from a `multipart/form-data; boundary=...` content type. */
export function multipartBoundary(contentType: string): string | undefined {
  if (!/^multipart\/form-data/i.test(contentType)) return undefined;
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

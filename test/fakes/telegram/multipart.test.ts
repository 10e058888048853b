import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { MultipartError, MultipartParser, multipartBoundary } from './multipart.ts';
import { startFakeTelegram } from './index.ts';

const BOUNDARY = 'a1b2c3d4e5';

/** Encodes parts exactly like telegraf's MultipartStream (headers as `key:value`, no trailing CRLF). */
function encode(parts: { name: string; filename?: string; data: Buffer }[]): Buffer {
  const pieces: Buffer[] = [];
  parts.forEach((part, index) => {
    pieces.push(Buffer.from(index === 0 ? `--${BOUNDARY}\r\n` : `\r\n--${BOUNDARY}\r\n`));
    const filename = part.filename !== undefined ? `; filename="${part.filename}"` : '';
    pieces.push(Buffer.from(`content-disposition:form-data; name="${part.name}"${filename}\r\n\r\n`), part.data);
  });
  pieces.push(Buffer.from(`\r\n--${BOUNDARY}--`));
  return Buffer.concat(pieces);
}

/** Feeds `body` cut at the given offsets. */
function parseInChunks(body: Buffer, cuts: number[]) {
  const parser = new MultipartParser(BOUNDARY);
  let start = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    parser.push(body.subarray(start, cut));
    start = cut;
  }
  parser.push(body.subarray(start));
  return parser.finish();
}

describe('streaming multipart parser', () => {
  it('yields the same parts however the stream is chunked', () => {
    // Bodies full of CR, LF and dashes stress delimiter detection across chunk edges.
    const tricky = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes.map((b) => [0x0d, 0x0a, 0x2d, 0x61][b % 4] ?? b)));
    const anyBytes = fc.oneof(
      tricky,
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ data: anyBytes, file: fc.boolean() }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (specs, rawCuts) => {
          const parts = specs.map((spec, i) => ({
            name: `field${i}`,
            data: spec.data,
            ...(spec.file ? { filename: `f${i}.ogg` } : {}),
          }));
          const body = encode(parts);
          const parsed = parseInChunks(
            body,
            rawCuts.map((c) => c % (body.length + 1)),
          );
          assert.equal(parsed.length, parts.length);
          parsed.forEach((got, i) => {
            const want = parts[i];
            assert.ok(want !== undefined);
            assert.equal(got.name, want.name);
            assert.equal(got.filename, want.filename);
            assert.ok(got.data.equals(want.data), `part ${i} bytes differ`);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('handles one byte at a time and a body that contains a near-boundary', () => {
    const data = Buffer.from(`x\r\n--${BOUNDARY.slice(0, -1)}y\r\n--`);
    const body = encode([{ name: 'voice', filename: 'v.ogg', data }]);
    const parsed = parseInChunks(
      body,
      Array.from({ length: body.length }, (_, i) => i),
    );
    assert.ok(parsed[0]?.data.equals(data));
  });

  it('fails on a truncated body', () => {
    const body = encode([{ name: 'a', data: Buffer.from('hello') }]);
    const parser = new MultipartParser(BOUNDARY);
    parser.push(body.subarray(0, body.length - 4));
    assert.throws(() => parser.finish(), MultipartError);
  });

  it('reads the boundary from the content type', () => {
    assert.equal(multipartBoundary('multipart/form-data; boundary=abc'), 'abc');
    assert.equal(multipartBoundary('multipart/form-data; boundary="q q"'), 'q q');
    assert.equal(multipartBoundary('application/json'), undefined);
  });
});

describe('fake server HTTP edge cases', () => {
  /** A raw chunked request without Content-Length, as telegraf sends uploads. */
  function postChunked(url: string, contentType: string, chunks: Buffer[]): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-type': contentType } }, (res) => {
        const received: Buffer[] = [];
        res.on('data', (c: Buffer) => received.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(received).toString() }));
      });
      req.on('error', reject);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
  }

  it('accepts a chunked multipart upload and rejects unparsable JSON fields with 400', async () => {
    const fake = await startFakeTelegram();
    try {
      const voice = Buffer.from('OggS-bytes');
      const body = encode([
        { name: 'chat_id', data: Buffer.from('77') },
        { name: 'voice', filename: 'v.ogg', data: voice },
      ]);
      const ok = await postChunked(`${fake.apiRoot}/bot${fake.token}/sendVoice`, `multipart/form-data; boundary=${BOUNDARY}`, [
        body.subarray(0, 50),
        body.subarray(50),
      ]);
      assert.equal(ok.status, 200);
      assert.ok(fake.sentVoices(77)[0]?.bytes.equals(voice));

      const bad = encode([
        { name: 'chat_id', data: Buffer.from('77') },
        { name: 'reply_markup', data: Buffer.from('[object Object]') },
        { name: 'voice', filename: 'v.ogg', data: voice },
      ]);
      const refused = await postChunked(`${fake.apiRoot}/bot${fake.token}/sendVoice`, `multipart/form-data; boundary=${BOUNDARY}`, [bad]);
      assert.equal(refused.status, 400);
      assert.match(refused.body, /can't parse reply_markup JSON object/);
    } finally {
      await fake.close();
    }
  });

  it('answers 413 above the upload limit', async () => {
    const fake = await startFakeTelegram({ maxUploadBytes: 1024 });
    try {
      const body = encode([
        { name: 'chat_id', data: Buffer.from('1') },
        { name: 'voice', filename: 'v.ogg', data: Buffer.alloc(4096) },
      ]);
      const res = await postChunked(`${fake.apiRoot}/bot${fake.token}/sendVoice`, `multipart/form-data; boundary=${BOUNDARY}`, [body]);
      assert.equal(res.status, 413);
    } finally {
      await fake.close();
    }
  });
});

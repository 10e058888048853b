import { test } from 'vitest';
import assert from 'node:assert/strict';
import { ConsentDeniedError, isConsentDenial } from '../../src/consent/consent-errors.ts';
import { VocalisError } from '../../src/core/user-facing-error.ts';
import { BackendError } from '../../src/engine/backend.ts';
import { fromWireError, toWireError } from '../../src/engine-node/wire-errors.ts';
import { FrameDecoder, FrameEncoder, WireFormatError, type Frame } from '../../src/engine-node/wire-format.ts';
import { renderError } from '../../src/i18n/error-messages.ts';

const SECRET = 'wire-test-secret-0123456789abcdef0123';
const NONCE = '0123456789abcdef0123456789abcdef';

function roundTrip(frames: readonly Frame[], split = 7): Frame[] {
  const encoder = new FrameEncoder(SECRET, NONCE);
  const bytes = Buffer.concat(frames.map((f) => encoder.encode(f)));
  const decoder = new FrameDecoder(SECRET, NONCE);
  const out: Frame[] = [];
  // Bytes arrive in arbitrary pieces, as TCP delivers them.
  for (let at = 0; at < bytes.length; at += split) {
    decoder.push(bytes.subarray(at, at + split));
    for (let frame = decoder.next(); frame; frame = decoder.next()) out.push(frame);
  }
  assert.equal(decoder.bufferedBytes, 0);
  return out;
}

test('audio frames carry every sample bit for bit, whatever pieces the bytes arrive in', () => {
  const samples = new Float32Array(4801);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.sin(i * 0.37) * 0.9 + (i === 5 ? Number.MIN_VALUE : 0);
  const out = roundTrip(
    [{ type: 'audio', chunk: { samples, sampleRate: 24_000 } }, { type: 'keepalive' }, { type: 'end' }, { type: 'prepared', zeroShot: true }],
    1013,
  );
  assert.equal(out.length, 4);
  const first = out[0]!;
  assert.ok(first.type === 'audio');
  assert.equal(first.chunk.sampleRate, 24_000);
  assert.deepEqual(Buffer.from(first.chunk.samples.buffer), Buffer.from(samples.buffer));
  assert.deepEqual(
    out.slice(1).map((f) => f.type),
    ['keepalive', 'end', 'prepared'],
  );
});

test('a frame changed, moved, or read with another secret or for another request fails its MAC', () => {
  const encoder = new FrameEncoder(SECRET, NONCE);
  const a = encoder.encode({ type: 'audio', chunk: { samples: new Float32Array([0.1, 0.2]), sampleRate: 16_000 } });
  const b = encoder.encode({ type: 'end' });
  const decode = (bytes: Buffer, secret = SECRET, nonce = NONCE) => {
    const decoder = new FrameDecoder(secret, nonce);
    decoder.push(bytes);
    const frames: Frame[] = [];
    for (let f = decoder.next(); f; f = decoder.next()) frames.push(f);
    return frames;
  };
  assert.equal(decode(Buffer.concat([a, b])).length, 2);
  const flipped = Buffer.from(a);
  flipped[10] = flipped[10]! ^ 1;
  assert.throws(() => decode(flipped), WireFormatError);
  assert.throws(() => decode(b), WireFormatError, 'the end frame alone: the audio before it was dropped');
  assert.throws(() => decode(a, 'another-secret-0123456789abcdef0123'), WireFormatError);
  assert.throws(() => decode(a, SECRET, 'ffffffffffffffffffffffffffffffff'), WireFormatError);
});

test('typed errors keep their type and code across the wire, so bots answer with the same catalogue message', () => {
  const cases: Array<[Error, (e: Error) => boolean]> = [
    [new ConsentDeniedError('out_of_scope', 'x'), (e) => e instanceof ConsentDeniedError && e.code === 'out_of_scope' && isConsentDenial(e)],
    [new DOMException('aborted', { cause: new ConsentDeniedError('no_consent', 'revoked') } as ErrorOptions) as unknown as Error, (e) => isConsentDenial(e)],
    [new BackendError('text_too_long', 'x', { max: 500 }), (e) => e instanceof BackendError && e.code === 'text_too_long' && e.details['max'] === 500],
    [new VocalisError('no_voice', 'x'), (e) => e instanceof VocalisError && e.code === 'no_voice'],
    [new Error('/secret/path failed while saying "hello"'), (e) => !e.message.includes('hello') && !e.message.includes('/secret')],
  ];
  for (const [error, check] of cases) {
    const back = fromWireError(toWireError(error));
    assert.ok(check(back), `${error.name}: ${back.name} ${back.message}`);
    // An AbortError caused by a denial is told apart with isConsentDenial (adapters do), then rendered as the denial.
    if (error instanceof DOMException) assert.equal(renderError('en', back), renderError('en', new ConsentDeniedError('no_consent', 'x')));
    else assert.equal(renderError('en', back), renderError('en', error), 'the same message as in process');
  }
  assert.equal(
    fromWireError({ family: 'backend', code: 'not_a_code', details: {} }).constructor,
    Error,
    'a code outside the closed set is the generic failure',
  );
});

import assert from 'node:assert/strict';
import { test } from 'vitest';
import fc from 'fast-check';
import { AudioDecodeError, decodeAudio } from '../../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../../src/engine/audio/opus-frames.ts';
import { encodeWav } from '../../src/engine/audio/wav.ts';
import { tone } from './fixtures.ts';

// In-process paths only (Ogg Opus, WAV): 1000+ runs must stay fast. Mutations that
// destroy the magic bytes fall to ffmpeg, so those are limited to a few bytes each.
const ogg = await encodeOggOpus({ samples: tone(300, 16000, 0.6), sampleRate: 16000 });
const wav = encodeWav({ samples: tone(300, 16000, 0.3), sampleRate: 16000 });

const mutation = (seed: Uint8Array) =>
  fc.record({
    flips: fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 1, max: 255 })), { maxLength: 8 }),
    cut: fc.option(fc.nat(seed.length), { nil: undefined }),
  });

function mutate(seed: Uint8Array, m: { flips: Array<[number, number]>; cut: number | undefined }): Uint8Array {
  const bytes = seed.slice(0, m.cut ?? seed.length);
  for (const [at, x] of m.flips) if (at >= 4 && at < bytes.length) bytes[at] = (bytes[at] ?? 0) ^ x; // keep magic
  return bytes;
}

for (const [name, seed] of [
  ['Ogg Opus', ogg],
  ['WAV', wav],
] as const) {
  test(`fuzz: 600 mutated ${name} files decode or fail with an AudioDecodeError`, async () => {
    await fc.assert(
      fc.asyncProperty(mutation(seed), async (m) => {
        try {
          const pcm = await decodeAudio(mutate(seed, m), { sampleRate: 16000, limits: { maxDurationSeconds: 60, maxWallMs: 5000 } });
          assert.ok(pcm.samples.every((v) => Number.isFinite(v) && Math.abs(v) <= 1));
          assert.ok(pcm.samples.length <= 60 * 16000 + 1);
        } catch (error) {
          assert.ok(error instanceof AudioDecodeError, `unexpected ${String(error)}`);
        }
      }),
      { numRuns: 600 },
    );
  });
}

import type { PcmChunk } from '../pcm.ts';
import { concatBytes, OggOpusWriter, OPUS_PRE_SKIP_48K } from './ogg-opus-writer.ts';
import { createOpusEncoder } from './opus-codec.ts';
import type { OpusChannels } from './opus-codec.ts';
import { Resampler } from './resampler.ts';

/** Samples per channel in one 20 ms Opus frame at 48 kHz: Discord's unit. */
export const FRAME_SAMPLES_48K = 960;

export interface OpusFrameOptions {
  readonly channels: OpusChannels;
  readonly bitrate?: number;
  /** Extra zeros fed after the input, e.g. the encoder look-ahead for Ogg files. */
  readonly tailPaddingSamples?: number;
}

async function* asAsync(chunks: AsyncIterable<PcmChunk> | Iterable<PcmChunk>): AsyncGenerator<PcmChunk> {
  yield* chunks;
}

/**
 * Mono PCM chunks at any rate → 48 kHz mono samples in exact 960-sample frames.
 * The resampler is recreated if a chunk changes rate. The very last frame is zero-padded.
 */
async function* frames48k(chunks: AsyncIterable<PcmChunk> | Iterable<PcmChunk>, tailPadding: number, counter: { real: number }): AsyncGenerator<Float32Array> {
  let resampler: Resampler | null = null;
  let pending = new Float32Array(FRAME_SAMPLES_48K);
  let filled = 0;
  function* push(samples: Float32Array): Generator<Float32Array> {
    let at = 0;
    while (at < samples.length) {
      const take = Math.min(FRAME_SAMPLES_48K - filled, samples.length - at);
      pending.set(samples.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === FRAME_SAMPLES_48K) {
        yield pending;
        pending = new Float32Array(FRAME_SAMPLES_48K);
        filled = 0;
      }
    }
  }
  for await (const chunk of asAsync(chunks)) {
    if (chunk.sampleRate === 48000) {
      if (resampler) yield* push(resampler.flush());
      resampler = null;
      counter.real += chunk.samples.length;
      yield* push(chunk.samples);
      continue;
    }
    if (!resampler || resampler.inputRate !== chunk.sampleRate) {
      if (resampler) yield* push(resampler.flush());
      resampler = new Resampler(chunk.sampleRate, 48000);
    }
    const out = resampler.process(chunk.samples);
    counter.real += out.length;
    yield* push(out);
  }
  if (resampler) {
    const tail = resampler.flush();
    counter.real += tail.length;
    yield* push(tail);
  }
  if (tailPadding > 0) yield* push(new Float32Array(tailPadding));
  if (filled > 0) yield pending; // rest is already zeros
}

function toInterleaved(frame: Float32Array, channels: OpusChannels): Float32Array {
  if (channels === 1) return frame;
  const stereo = new Float32Array(frame.length * 2);
  for (let i = 0; i < frame.length; i++) {
    const v = frame[i] ?? 0;
    stereo[2 * i] = v;
    stereo[2 * i + 1] = v;
  }
  return stereo;
}

/** PCM → 20 ms Opus frames at 48 kHz, what a Discord AudioPlayer sends one per tick. */
export async function* pcmToOpusFrames(chunks: AsyncIterable<PcmChunk> | Iterable<PcmChunk>, options: OpusFrameOptions): AsyncGenerator<Uint8Array> {
  const encoder = createOpusEncoder({ sampleRate: 48000, channels: options.channels, bitrate: options.bitrate });
  for await (const frame of frames48k(chunks, options.tailPaddingSamples ?? 0, { real: 0 })) {
    yield encoder.encode(toInterleaved(frame, options.channels));
  }
}

/**
 * PCM → a complete Ogg Opus file, mono 48 kHz (Telegram voice notes, the CLI's
 * --out x.ogg). The encoder's look-ahead is fed as trailing zeros and declared as
 * pre-skip, so decoders return exactly the input's duration.
 */
export async function encodeOggOpus(input: AsyncIterable<PcmChunk> | PcmChunk, options: { bitrate?: number } = {}): Promise<Uint8Array> {
  const chunks: AsyncIterable<PcmChunk> | Iterable<PcmChunk> = Symbol.asyncIterator in input ? input : [input];
  const firstRate = Symbol.asyncIterator in input ? 48000 : input.sampleRate;
  const writer = new OggOpusWriter({ channels: 1, preSkip: OPUS_PRE_SKIP_48K, inputSampleRate: firstRate });
  const pages: Uint8Array[] = writer.headers();
  const encoder = createOpusEncoder({ sampleRate: 48000, channels: 1, bitrate: options.bitrate ?? 32000 });
  const counter = { real: 0 };
  for await (const frame of frames48k(chunks, OPUS_PRE_SKIP_48K, counter)) {
    const page = writer.addPacket(encoder.encode(frame), FRAME_SAMPLES_48K);
    if (page) pages.push(page);
  }
  pages.push(writer.finish(counter.real));
  return concatBytes(pages);
}

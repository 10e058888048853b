import { Resampler } from '../audio/resampler.ts';
import { markCarriers } from './carriers.ts';
import { compositeCarrier } from './composite-carrier.ts';
import type { MarkKey } from './mark-key.ts';
import { FRAME, HOP, MARK_RATE } from './mark-layout.ts';
import { MarkShaper } from './mark-shaper.ts';
import { encodePayload, type MarkPayload } from './payload.ts';

/**
 * The mark's energy against the masked threshold in each critical band and frame:
 * under it, so a different framing or a little leakage keeps it inaudible. −2 dB is
 * what Opus 16 kbps needs for the payload from every 10 s (−3 dB gave 98 of 100);
 * `npm run bench -- watermark` measures both the audibility and the robustness.
 */
export const DEFAULT_MARK_TO_MASK_DB = -2;

/** A growable float queue: append at the end, take from the front. */
class SampleQueue {
  #data = new Float32Array(4096);
  #start = 0;
  #end = 0;

  get length(): number {
    return this.#end - this.#start;
  }

  push(samples: ArrayLike<number>): void {
    if (this.#end + samples.length > this.#data.length) {
      const size = Math.max(this.#data.length, (this.length + samples.length) * 2);
      const next = new Float32Array(size);
      next.set(this.#data.subarray(this.#start, this.#end));
      this.#data = next;
      this.#end -= this.#start;
      this.#start = 0;
    }
    for (let i = 0; i < samples.length; i++) this.#data[this.#end + i] = samples[i]!;
    this.#end += samples.length;
  }

  take(count: number): Float32Array {
    const n = Math.min(count, this.length);
    const out = this.#data.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  peek(offset: number, into: Float64Array): void {
    for (let i = 0; i < into.length; i++) into[i] = this.#data[this.#start + offset + i] ?? 0;
  }

  drop(count: number): void {
    this.#start += Math.min(count, this.length);
  }
}

/**
 * Adds the mark to one utterance as it streams, at the utterance's own rate.
 * The speech goes down to 16 kHz for the spectral shaping; the mark made there
 * comes back up and is added to the untouched original. What it holds back is
 * only the shaping frame and the next hop (its masking threshold bounds this
 * frame's) plus the two resamplers' filter halves (about 56 ms), never a whole
 * phrase: every chunk in gives out all but that tail at once.
 */
export class MarkEmbedder {
  readonly sampleRate: number;
  readonly #shaper: MarkShaper;
  readonly #down: Resampler | null;
  readonly #up: Resampler | null;
  /** The original at the output rate, waiting for its mark. */
  readonly #host = new SampleQueue();
  /** Speech at 16 kHz not yet fully shaped; index 0 is absolute 16 kHz sample #frameStart. */
  readonly #speech16 = new SampleQueue();
  /** Mark at the output rate, aligned with #host. */
  readonly #mark = new SampleQueue();
  /** Overlap-add accumulator of the mark at 16 kHz, from #frameStart on. */
  #overlap = new Float64Array(FRAME);
  /** Absolute 16 kHz index where the next frame starts (starts at −HOP so sample 0 gets two frames). */
  #frameStart = -HOP;
  /** Absolute 16 kHz index of the next finished mark sample. */
  #readyStart = -HOP;
  #flushed = false;
  readonly #frame = new Float64Array(MarkShaper.SPAN);

  constructor(options: { key: MarkKey; payload: MarkPayload; sampleRate: number; markToMaskDb?: number }) {
    this.sampleRate = options.sampleRate;
    const carrier = compositeCarrier(markCarriers(options.key), encodePayload(options.payload));
    this.#shaper = new MarkShaper(carrier, options.markToMaskDb ?? DEFAULT_MARK_TO_MASK_DB);
    const same = options.sampleRate === MARK_RATE;
    this.#down = same ? null : new Resampler(options.sampleRate, MARK_RATE);
    this.#up = same ? null : new Resampler(MARK_RATE, options.sampleRate);
    this.#speech16.push(new Float32Array(HOP));
  }

  /** Takes the next samples of the utterance; returns the marked samples that are ready (possibly fewer). */
  process(samples: Float32Array): Float32Array {
    if (this.#flushed) throw new Error('the mark embedder was already flushed');
    this.#host.push(samples);
    this.#speech16.push(this.#down ? this.#down.process(samples) : samples);
    this.#shapeFrames(false);
    return this.#emit(false);
  }

  /** Ends the utterance: everything held back comes out, marked. */
  flush(): Float32Array {
    if (this.#flushed) return new Float32Array(0);
    this.#flushed = true;
    if (this.#down) this.#speech16.push(this.#down.flush());
    this.#shapeFrames(true);
    return this.#emit(true);
  }

  #shapeFrames(final: boolean): void {
    const ready: number[] = [];
    while (this.#speech16.length >= MarkShaper.SPAN || (final && this.#speech16.length > HOP)) {
      this.#speech16.peek(0, this.#frame);
      const mark = this.#shaper.frame(this.#frame, this.#frameStart);
      for (let i = 0; i < FRAME; i++) this.#overlap[i] = this.#overlap[i]! + mark[i]!;
      // The first hop of the accumulator has all its frames now.
      for (let i = 0; i < HOP; i++) ready.push(this.#overlap[i]!);
      this.#overlap.copyWithin(0, HOP);
      this.#overlap.fill(0, FRAME - HOP);
      this.#speech16.drop(HOP);
      this.#frameStart += HOP;
    }
    if (final) for (let i = 0; i < this.#speech16.length; i++) ready.push(this.#overlap[i]!);
    // The accumulator starts HOP samples before time 0; those samples belong to no audio.
    const skip = Math.min(ready.length, Math.max(0, -this.#readyStart));
    this.#readyStart += ready.length;
    const mark16 = Float32Array.from(skip > 0 ? ready.slice(skip) : ready);
    this.#mark.push(this.#up ? this.#up.process(mark16) : mark16);
    if (final && this.#up) this.#mark.push(this.#up.flush());
  }

  #emit(final: boolean): Float32Array {
    const count = final ? this.#host.length : Math.min(this.#host.length, this.#mark.length);
    const out = this.#host.take(count);
    const mark = this.#mark.take(count);
    for (let i = 0; i < mark.length; i++) out[i] = out[i]! + mark[i]!;
    return out;
  }
}

import { randomInt } from 'node:crypto';
import { AI_DISCLOSURE_TAGS } from '../watermark/disclosure-tags.ts';
import { buildOggPage, FLAG_BOS, FLAG_EOS } from './ogg-page.ts';

/**
 * Ogg Opus muxer (RFC 7845): an OpusHead page, an OpusTags page, then audio
 * pages whose granule position counts 48 kHz samples including the pre-skip.
 * The final page carries EOS and a granule that trims the last frame's padding.
 */

export interface OggOpusWriterOptions {
  readonly channels: 1 | 2;
  /** Samples at 48 kHz the decoder drops at the start (the encoder's look-ahead). */
  readonly preSkip: number;
  /** The original rate, informational (players may resample back to it). */
  readonly inputSampleRate: number;
  readonly vendor?: string;
  readonly serial?: number;
  /**
   * OpusTags user comments (`NAME=value`). Vocalis writes Ogg Opus only for synthetic
   * speech, so by default every file says it is AI-generated.
   */
  readonly comments?: readonly string[];
}

/** libopus's look-ahead at 48 kHz for the AUDIO/VOIP applications (2.5 ms + 4 ms). */
export const OPUS_PRE_SKIP_48K = 312;
/** Flush an audio page after about a second of 20 ms packets. */
const PACKETS_PER_PAGE = 50;

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function buildOpusHead(options: OggOpusWriterOptions): Uint8Array {
  const head = new Uint8Array(19);
  const view = new DataView(head.buffer);
  head.set(ascii('OpusHead'), 0);
  head[8] = 1; // version
  head[9] = options.channels;
  view.setUint16(10, options.preSkip, true);
  view.setUint32(12, options.inputSampleRate, true);
  view.setInt16(16, 0, true); // output gain
  head[18] = 0; // channel mapping family 0: mono or stereo
  return head;
}

export function buildOpusTags(vendor: string, comments: readonly string[] = []): Uint8Array {
  const vendorBytes = ascii(vendor);
  const commentBytes = comments.map((c) => new TextEncoder().encode(c));
  const tags = new Uint8Array(8 + 4 + vendorBytes.length + 4 + commentBytes.reduce((n, c) => n + 4 + c.length, 0));
  const view = new DataView(tags.buffer);
  tags.set(ascii('OpusTags'), 0);
  view.setUint32(8, vendorBytes.length, true);
  tags.set(vendorBytes, 12);
  let at = 12 + vendorBytes.length;
  view.setUint32(at, commentBytes.length, true);
  at += 4;
  for (const c of commentBytes) {
    view.setUint32(at, c.length, true);
    tags.set(c, at + 4);
    at += 4 + c.length;
  }
  return tags;
}

export class OggOpusWriter {
  readonly #options: OggOpusWriterOptions;
  readonly #serial: number;
  #sequence = 0;
  #pending: Uint8Array[] = [];
  /** 48 kHz samples of all packets added so far, without pre-skip. */
  #samples = 0;
  #finished = false;

  constructor(options: OggOpusWriterOptions) {
    this.#options = options;
    this.#serial = options.serial ?? randomInt(0, 0x7fffffff);
  }

  /** The two header pages; call once, before any audio page. */
  headers(): Uint8Array[] {
    const head = buildOggPage({
      flags: FLAG_BOS,
      granule: 0n,
      serial: this.#serial,
      sequence: this.#sequence++,
      segments: [buildOpusHead(this.#options)],
    });
    const tags = buildOggPage({
      flags: 0,
      granule: 0n,
      serial: this.#serial,
      sequence: this.#sequence++,
      segments: [buildOpusTags(this.#options.vendor ?? 'vocalis', this.#options.comments ?? AI_DISCLOSURE_TAGS)],
    });
    return [head, tags];
  }

  /** Adds one Opus packet lasting `samples48k`; returns a page when one fills up. */
  addPacket(packet: Uint8Array, samples48k: number): Uint8Array | null {
    if (this.#finished) throw new Error('Ogg Opus stream already finished');
    this.#pending.push(packet);
    this.#samples += samples48k;
    if (this.#pending.length < PACKETS_PER_PAGE) return null;
    return this.#flush(0, BigInt(this.#options.preSkip + this.#samples));
  }

  /**
   * Closes the stream. `validSamples48k` is how much of the audio is real (the
   * rest of the last packet is padding); the EOS granule trims to it.
   */
  finish(validSamples48k: number): Uint8Array {
    if (this.#finished) throw new Error('Ogg Opus stream already finished');
    this.#finished = true;
    const valid = Math.min(validSamples48k, this.#samples);
    return this.#flush(FLAG_EOS, BigInt(this.#options.preSkip + valid));
  }

  #flush(flags: number, granule: bigint): Uint8Array {
    const page = buildOggPage({
      flags,
      granule,
      serial: this.#serial,
      sequence: this.#sequence++,
      segments: this.#pending,
    });
    this.#pending = [];
    return page;
  }
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

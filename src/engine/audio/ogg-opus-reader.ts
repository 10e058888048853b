import { AudioDecodeError } from './audio-errors.ts';
import { FLAG_EOS, readOggPages } from './ogg-page.ts';

/**
 * Reads the first Opus stream of an Ogg file into packets. Our own page reader
 * rather than prism-media's OggDemuxer: that one checks no CRC and stalls on a
 * packet that spans pages (an OpusTags page with cover art does), and "bad page
 * CRC" and "truncated" must be reported as such.
 */
export interface OggOpusStream {
  readonly channels: number;
  readonly preSkip: number;
  readonly inputSampleRate: number;
  readonly packets: Uint8Array[];
  /** Granule of the last page (48 kHz samples incl. pre-skip), or null if none was set. */
  readonly finalGranule: bigint | null;
  readonly sawEndOfStream: boolean;
}

function startsWithAscii(bytes: Uint8Array, text: string): boolean {
  if (bytes.length < text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
}

/** `maxGranule` bounds the duration (48 kHz samples incl. pre-skip) so a 3-hour file fails on its first long page. */
export function readOggOpus(bytes: Uint8Array, maxGranule = Number.POSITIVE_INFINITY): OggOpusStream {
  let serial: number | null = null;
  let head: Uint8Array | null = null;
  let tagsSeen = false;
  let partial: Uint8Array[] = [];
  const packets: Uint8Array[] = [];
  let finalGranule: bigint | null = null;
  let sawEndOfStream = false;

  for (const page of readOggPages(bytes)) {
    if (serial === null) {
      if (!startsWithAscii(page.body, 'OpusHead')) {
        throw new AudioDecodeError('unsupported', 'Ogg stream is not Opus (Vorbis, FLAC or other codec)');
      }
      serial = page.serial;
    }
    if (page.serial !== serial) continue; // other logical streams (e.g. video) are ignored
    let at = 0;
    let size = 0;
    for (let i = 0; i < page.lacing.length; i++) {
      const l = page.lacing[i] ?? 0;
      size += l;
      if (l === 255) continue; // packet continues into the next segment
      partial.push(page.body.subarray(at, at + size));
      at += size;
      size = 0;
      const packet = partial.length === 1 ? (partial[0] ?? new Uint8Array(0)) : concat(partial);
      partial = [];
      if (!head) {
        head = packet;
      } else if (!tagsSeen) {
        if (!startsWithAscii(packet, 'OpusTags')) throw new AudioDecodeError('corrupt', 'Ogg Opus stream lacks its OpusTags header');
        tagsSeen = true;
      } else {
        packets.push(packet);
      }
    }
    if (size > 0) partial.push(page.body.subarray(at, at + size));
    if (page.granule !== -1n && tagsSeen) {
      finalGranule = page.granule;
      if (Number(page.granule) > maxGranule) throw new AudioDecodeError('too_long', 'Ogg Opus stream is longer than the duration limit');
    }
    if (page.flags & FLAG_EOS) {
      sawEndOfStream = true;
      break;
    }
  }
  if (!head) throw new AudioDecodeError('truncated', 'Ogg stream has no OpusHead');
  if (head.length < 19 || (head[8] ?? 0) >> 4 !== 0) throw new AudioDecodeError('corrupt', 'OpusHead is malformed');
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const channels = head[9] ?? 0;
  const mapping = head[18] ?? 0;
  if (channels < 1) throw new AudioDecodeError('corrupt', 'OpusHead declares no channels');
  if (mapping !== 0 || channels > 2) throw new AudioDecodeError('unsupported', `Ogg Opus with ${channels} channels (mapping ${mapping}) is not supported`);
  if (!tagsSeen) throw new AudioDecodeError('truncated', 'Ogg Opus stream ends before its audio');
  return {
    channels,
    preSkip: view.getUint16(10, true),
    inputSampleRate: view.getUint32(12, true),
    packets,
    finalGranule,
    sawEndOfStream,
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

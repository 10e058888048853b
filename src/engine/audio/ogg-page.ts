import { AudioDecodeError } from './audio-errors.ts';
import { oggCrc32 } from './ogg-crc.ts';

/** Ogg page layout (RFC 3533 §6). */
export const OGG_HEADER_BYTES = 27;
export const FLAG_CONTINUED = 0x01;
export const FLAG_BOS = 0x02;
export const FLAG_EOS = 0x04;

export interface OggPageInput {
  readonly flags: number;
  /** -1 means "no packet ends on this page". */
  readonly granule: bigint;
  readonly serial: number;
  readonly sequence: number;
  /** Packets (or one packet's remainder) laid out on this page; the last may continue if `lastContinues`. */
  readonly segments: readonly Uint8Array[];
  readonly lastContinues?: boolean;
}

/** Builds one page with its lacing table and CRC. Each segment must fit the 255-entry table. */
export function buildOggPage(page: OggPageInput): Uint8Array {
  const lacing: number[] = [];
  page.segments.forEach((segment, index) => {
    let left = segment.length;
    while (left >= 255) {
      lacing.push(255);
      left -= 255;
    }
    const continues = page.lastContinues === true && index === page.segments.length - 1;
    if (!continues) lacing.push(left);
  });
  if (lacing.length > 255) throw new RangeError('Ogg page holds at most 255 lacing values');
  const bodyBytes = page.segments.reduce((sum, s) => sum + s.length, 0);
  const out = new Uint8Array(OGG_HEADER_BYTES + lacing.length + bodyBytes);
  const view = new DataView(out.buffer);
  out.set([0x4f, 0x67, 0x67, 0x53], 0); // "OggS"
  out[4] = 0;
  out[5] = page.flags;
  view.setBigInt64(6, page.granule, true);
  view.setUint32(14, page.serial >>> 0, true);
  view.setUint32(18, page.sequence >>> 0, true);
  view.setUint32(22, 0, true);
  out[26] = lacing.length;
  out.set(lacing, OGG_HEADER_BYTES);
  let at = OGG_HEADER_BYTES + lacing.length;
  for (const segment of page.segments) {
    out.set(segment, at);
    at += segment.length;
  }
  view.setUint32(22, oggCrc32(out), true);
  return out;
}

export interface ParsedOggPage {
  readonly flags: number;
  readonly granule: bigint;
  readonly serial: number;
  readonly sequence: number;
  readonly lacing: Uint8Array;
  readonly body: Uint8Array;
}

/**
 * Splits a whole Ogg file into pages, checking capture pattern, version and CRC.
 * Fails with 'truncated' when the bytes end inside a page, 'corrupt' on a bad page.
 */
export function* readOggPages(bytes: Uint8Array): Generator<ParsedOggPage> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let index = 0;
  while (at < bytes.length) {
    if (bytes.length - at < OGG_HEADER_BYTES) throw new AudioDecodeError('truncated', `Ogg stream ends inside page ${index} header`);
    if (bytes[at] !== 0x4f || bytes[at + 1] !== 0x67 || bytes[at + 2] !== 0x67 || bytes[at + 3] !== 0x53) {
      throw new AudioDecodeError('corrupt', `Ogg page ${index} lacks its capture pattern`);
    }
    if (bytes[at + 4] !== 0) throw new AudioDecodeError('corrupt', `Ogg page ${index} has an unknown version`);
    const segments = bytes[at + 26] ?? 0;
    const lacingEnd = at + OGG_HEADER_BYTES + segments;
    if (lacingEnd > bytes.length) throw new AudioDecodeError('truncated', `Ogg stream ends inside page ${index} lacing table`);
    const lacing = bytes.subarray(at + OGG_HEADER_BYTES, lacingEnd);
    let bodyBytes = 0;
    for (const l of lacing) bodyBytes += l;
    const end = lacingEnd + bodyBytes;
    if (end > bytes.length) throw new AudioDecodeError('truncated', `Ogg stream ends inside page ${index}`);
    const page = bytes.slice(at, end);
    const stored = view.getUint32(at + 22, true);
    page[22] = page[23] = page[24] = page[25] = 0;
    if (oggCrc32(page) !== stored) throw new AudioDecodeError('corrupt', `Ogg page ${index} fails its CRC check`);
    yield {
      flags: bytes[at + 5] ?? 0,
      granule: view.getBigInt64(at + 6, true),
      serial: view.getUint32(at + 14, true),
      sequence: view.getUint32(at + 18, true),
      lacing,
      body: bytes.subarray(lacingEnd, end),
    };
    at = end;
    index++;
  }
}

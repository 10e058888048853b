import { createOpusDecoder, type OpusDecoder } from '../../engine/audio/opus-codec.ts';
import { OPUS_SILENCE_FRAME } from '../../engine/audio/playback-stream.ts';

/**
 * What one packet from the voice receiver is worth to a recording. Only `speech` frames
 * enter a clip and the progress count; a frame that could not be decrypted or decoded is
 * `unusable` and counts for nothing (a key transition must not add noise or seconds).
 */
export type ReceivedFrame =
  | { readonly kind: 'speech'; readonly pcm: Int16Array; readonly quiet: boolean }
  | { readonly kind: 'silence' }
  | { readonly kind: 'unusable'; readonly why: 'e2ee_encrypted' | 'corrupt' };

/** 48 kHz stereo, 20 ms: what Discord sends. */
export const FRAME_SECONDS = 0.02;
/** The DAVE protocol ends every end-to-end encrypted frame with this marker (0xFAFA). */
const DAVE_MAGIC = 0xfa;
/** A DAVE footer holds at least an 8-byte tag, a nonce, the size byte and the marker. */
const DAVE_MIN_SUPPLEMENT = 12;
const DAVE_TAG_BYTES = 8;
/** RMS below this (about −40 dBFS) is a pause, not a word. */
const QUIET_RMS = 0.01 * 32768;

function isSilenceFrame(packet: Uint8Array): boolean {
  return packet.length === OPUS_SILENCE_FRAME.length && OPUS_SILENCE_FRAME.every((byte, i) => packet[i] === byte);
}

/**
 * A frame still under DAVE's end-to-end encryption: the library passed it through (no key
 * yet, passthrough edges) instead of decrypting it. Decoded as Opus it would be noise. The
 * footer is checked in full (https://daveprotocol.com/#payload-format): marker, its size, the
 * 8-byte tag, a ULEB128 nonce, then (offset, length) pairs of unencrypted ranges that lie in
 * order inside the frame; an Opus frame that merely ends in 0xFAFA fails one of these.
 */
export function isE2eeFrame(packet: Uint8Array): boolean {
  const n = packet.length;
  if (n < DAVE_MIN_SUPPLEMENT + 1 || packet[n - 1] !== DAVE_MAGIC || packet[n - 2] !== DAVE_MAGIC) return false;
  const supplement = packet[n - 3] ?? 0;
  if (supplement < DAVE_MIN_SUPPLEMENT || supplement >= n) return false;
  const end = n - 3;
  const body = n - supplement;
  let at = body + DAVE_TAG_BYTES;
  const uleb = (): number | null => {
    let value = 0;
    for (let shift = 0; at < end && shift < 35; shift += 7) {
      const byte = packet[at++] ?? 0;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    return null;
  };
  if (uleb() === null) return false;
  let covered = 0;
  while (at < end) {
    const offset = uleb();
    const length = uleb();
    if (offset === null || length === null || offset < covered || offset + length > body) return false;
    covered = offset + length;
  }
  return at === end;
}

/** Decodes one member's packets in order (one decoder: Opus carries state between frames). */
export class FrameReader {
  readonly #decoder: OpusDecoder = createOpusDecoder({ sampleRate: 48000, channels: 2 });

  read(packet: Uint8Array): ReceivedFrame {
    if (isSilenceFrame(packet)) return { kind: 'silence' };
    if (isE2eeFrame(packet)) return { kind: 'unusable', why: 'e2ee_encrypted' };
    // An empty payload would decode as packet-loss concealment: made-up audio.
    if (packet.length === 0) return { kind: 'unusable', why: 'corrupt' };
    let pcm: Int16Array;
    try {
      pcm = this.#decoder.decode(packet);
    } catch {
      return { kind: 'unusable', why: 'corrupt' };
    }
    if (pcm.length === 0) return { kind: 'unusable', why: 'corrupt' };
    let energy = 0;
    for (const v of pcm) energy += v * v;
    return { kind: 'speech', pcm, quiet: Math.sqrt(energy / pcm.length) < QUIET_RMS };
  }
}

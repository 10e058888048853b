import { AudioDecodeError } from './audio-errors.ts';
import type { DecodedAudio } from './decoded-audio.ts';
import { downmixInterleaved } from './downmix.ts';
import { readOggOpus } from './ogg-opus-reader.ts';
import { createOpusDecoder, isOpusSampleRate } from './opus-codec.ts';
import type { OpusChannels } from './opus-codec.ts';
import { resample } from './resampler.ts';

interface PacketDecodeResult {
  readonly interleaved: Float32Array;
  readonly rate: number;
  readonly corruptPackets: number;
}

/** libopus decodes straight to any Opus rate; other targets go through 48 kHz and our resampler. */
function decodeRateFor(target: number): number {
  return isOpusSampleRate(target) ? target : 48000;
}

function decodePackets(
  packets: Iterable<Uint8Array>,
  channels: OpusChannels,
  rate: number,
  maxSamplesPerChannel: number,
  skipCorrupt: boolean,
): PacketDecodeResult {
  const decoder = createOpusDecoder({ sampleRate: isOpusSampleRate(rate) ? rate : 48000, channels });
  const parts: Int16Array[] = [];
  let total = 0;
  let corruptPackets = 0;
  for (const packet of packets) {
    let pcm: Int16Array;
    try {
      pcm = decoder.decode(packet);
    } catch (error) {
      if (skipCorrupt) {
        corruptPackets++;
        continue;
      }
      throw new AudioDecodeError('corrupt', 'an Opus packet failed to decode', { cause: error });
    }
    parts.push(pcm);
    total += pcm.length;
    if (total / channels > maxSamplesPerChannel) throw new AudioDecodeError('too_long', 'Opus audio is longer than the duration limit');
  }
  const interleaved = new Float32Array(total);
  let at = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) interleaved[at + i] = (part[i] ?? 0) / 32768;
    at += part.length;
  }
  return { interleaved, rate, corruptPackets };
}

/** Decodes a whole Ogg Opus file in-process to mono at `sampleRate`. */
export function decodeOggOpusBytes(bytes: Uint8Array, sampleRate: number, maxDurationSeconds: number): DecodedAudio {
  const maxGranule = maxDurationSeconds * 48000 + 65535;
  const stream = readOggOpus(bytes, maxGranule);
  if (stream.packets.length === 0) throw new AudioDecodeError('empty', 'Ogg Opus stream holds no audio packets');
  const rate = decodeRateFor(sampleRate);
  const channels: OpusChannels = stream.channels === 2 ? 2 : 1;
  const decoded = decodePackets(stream.packets, channels, rate, maxDurationSeconds * rate, false);
  const mono = downmixInterleaved(decoded.interleaved, channels);
  // Drop the pre-skip; trim the end to the last granule (padding of the final frame).
  const skip = Math.round((stream.preSkip * rate) / 48000);
  let end = mono.samples.length;
  if (stream.finalGranule !== null && stream.finalGranule > BigInt(stream.preSkip)) {
    end = Math.min(end, Math.round((Number(stream.finalGranule - BigInt(stream.preSkip)) * rate) / 48000) + skip);
  }
  const trimmed = mono.samples.subarray(Math.min(skip, end), end);
  const samples = resample(trimmed, rate, sampleRate);
  return {
    samples: samples === trimmed ? trimmed.slice() : samples,
    sampleRate,
    sourceSampleRate: stream.inputSampleRate > 0 ? Math.min(stream.inputSampleRate, 48000) : 48000,
    sourceChannels: stream.channels,
    silentChannels: mono.silentChannels,
    nonFiniteSamples: 0,
    container: 'ogg-opus',
  };
}

/**
 * Discord receiver packets (48 kHz stereo, 20 ms each) → mono PCM. A corrupt
 * packet (lost or undecryptable) is skipped rather than failing the whole burst.
 */
export function decodeOpusPackets(packets: Iterable<Uint8Array>, sampleRate: number): DecodedAudio {
  const rate = decodeRateFor(sampleRate);
  const decoded = decodePackets(packets, 2, rate, Number.POSITIVE_INFINITY, true);
  const mono = downmixInterleaved(decoded.interleaved, 2);
  return {
    samples: resample(mono.samples, rate, sampleRate),
    sampleRate,
    sourceSampleRate: 48000,
    sourceChannels: 2,
    silentChannels: mono.silentChannels,
    nonFiniteSamples: 0,
    container: 'opus-packets',
  };
}

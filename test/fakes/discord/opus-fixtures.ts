// Test audio: deterministic PCM, encoded into 20 ms Opus frames (native @discordjs/opus, or opusscript),
// and a lag-tolerant correlation to compare decoded audio with the original.
interface OpusCodec {
  encode(pcm: Buffer): Buffer;
  decode(frame: Buffer): Buffer;
}

/**
 * The native @discordjs/opus is an optional dependency; fall back to the WASM opusscript
 * (what prism-media also accepts) so these fixtures work on hosts without a compiler.
 */
async function loadCodecFactory(): Promise<() => OpusCodec> {
  try {
    // CommonJS addon: Node cannot detect its named exports, so go through the default export.
    // A specifier in a variable, typed here: TypeScript must not need the addon, which is
    // absent where there is no compiler (test/app/without-native-opus.test.ts holds this).
    const nativeOpus: string = '@discordjs/opus';
    const { OpusEncoder } = ((await import(nativeOpus)) as { default: { OpusEncoder: new (rate: number, channels: number) => OpusCodec } }).default;
    return () => {
      const codec = new OpusEncoder(48_000, 2);
      return { encode: (pcm) => codec.encode(pcm), decode: (frame) => codec.decode(frame) };
    };
  } catch {
    const OpusScript = (await import('opusscript')).default;
    return () => {
      const codec = new OpusScript(48_000, 2, OpusScript.Application.AUDIO);
      return { encode: (pcm) => codec.encode(pcm, 960), decode: (frame) => codec.decode(frame) };
    };
  }
}

const newCodec = await loadCodecFactory();

export const SAMPLE_RATE = 48_000;
export const CHANNELS = 2;
export const FRAME_SAMPLES = 960;

/** Interleaved stereo s16 PCM: a tone with a slow amplitude wobble, so alignment is unambiguous. */
export function makeTestPcm(seconds: number, frequencyHz: number): Int16Array {
  const frames = Math.round(seconds * SAMPLE_RATE);
  const pcm = new Int16Array(frames * CHANNELS);
  for (let i = 0; i < frames; i++) {
    const t = i / SAMPLE_RATE;
    const envelope = 0.55 + 0.4 * Math.sin(2 * Math.PI * 3 * t);
    const value = Math.round(12_000 * envelope * Math.sin(2 * Math.PI * frequencyHz * t));
    pcm[i * 2] = value;
    pcm[i * 2 + 1] = value;
  }
  return pcm;
}

export function encodeOpusFrames(pcm: Int16Array): Buffer[] {
  const encoder = newCodec();
  const frames: Buffer[] = [];
  const step = FRAME_SAMPLES * CHANNELS;
  for (let offset = 0; offset + step <= pcm.length; offset += step) {
    const chunk = pcm.subarray(offset, offset + step);
    frames.push(encoder.encode(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  }
  return frames;
}

export function decodeOpusFrames(frames: readonly Buffer[]): Int16Array {
  const decoder = newCodec();
  const parts = frames.map((f) => decoder.decode(f));
  const all = Buffer.concat(parts);
  return new Int16Array(all.buffer, all.byteOffset, all.byteLength / 2);
}

/** Left channel only, as floats. */
function mono(pcm: Int16Array): Float64Array {
  const out = new Float64Array(Math.floor(pcm.length / CHANNELS));
  for (let i = 0; i < out.length; i++) out[i] = pcm[i * CHANNELS] ?? 0;
  return out;
}

/**
 * Highest normalised cross-correlation between the two signals over lags 0..maxLag
 * (decoded Opus trails the input by the codec's look-ahead, ~6.5 ms).
 */
export function bestCorrelation(original: Int16Array, decoded: Int16Array, maxLag = 1200): number {
  const a = mono(original);
  const b = mono(decoded);
  let best = -1;
  for (let lag = 0; lag <= maxLag; lag += 4) {
    const n = Math.min(a.length, b.length - lag);
    if (n <= 0) break;
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let i = 0; i < n; i++) {
      const x = a[i]!;
      const y = b[i + lag]!;
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    const r = aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
    if (r > best) best = r;
  }
  return best;
}

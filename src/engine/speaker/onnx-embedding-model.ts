import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import type { PcmChunk } from '../pcm.ts';
import { describeFeatures, embeddingFeatures, FRAME_SECONDS, type EmbeddingFeatures, type EmbeddingFeatureSpec } from './embedding-features.ts';
import { EnrolmentMismatchError, type SpeakerModel, type SpeakerModelInfo, type SpeakerScore } from './speaker-model.ts';

/**
 * Where the model's cosine similarities lie: what it typically gives two different
 * speakers (`impostor`) and two clips of one speaker (`target`), measured by
 * `npm run bench -- consent --speaker-onnx PATH`. Scores are mapped so that the first is 0
 * and the second is 1, which puts VOCALIS_SPEAKER_THRESHOLD on the same footing for every
 * model (the built-in GMM-UBM's equal-error points lie near 0.5 too).
 */
export interface CosineCalibration {
  readonly impostor: number;
  readonly target: number;
}

export interface OnnxEmbeddingSettings {
  readonly path: string;
  readonly features: EmbeddingFeatureSpec;
  /** Frames per model run, averaged over windows half a window apart (0: the whole clip at once). */
  readonly windowFrames: number;
  readonly calibration: CosineCalibration;
}

/** Fewer voiced frames than this are no speech to embed (and too few for a model's convolutions). */
const MIN_FRAMES = 20;
const PROBE_FRAMES = 200;
const ENROLMENT_MAGIC = 0x45_4d_42_31; // "EMB1"
const TAG_BYTES = 32;
const HEADER_BYTES = 4 + TAG_BYTES + 4 + 4;

export class SpeakerModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpeakerModelLoadError';
  }
}

/**
 * Speaker verification with an operator's ONNX speaker-embedding model (WeSpeaker
 * ResNet, ECAPA-TDNN, GE2E…): features as declared → [1, frames, bins] → one embedding.
 * The voiceprint is the mean of the unit-length embeddings of the clips enrolled, weighted
 * by their speech; a clip's score is its cosine similarity to it, calibrated. The model
 * file's SHA-256 is the version the consent receipt records.
 */
export class OnnxEmbeddingSpeakerModel implements SpeakerModel {
  readonly info: SpeakerModelInfo;
  readonly dims: number;
  readonly #session: ort.InferenceSession;
  readonly #settings: OnnxEmbeddingSettings;
  readonly #tag: Uint8Array;
  /** One run at a time: a session is not re-entrant on one thread, and clips arrive one by one anyway. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(session: ort.InferenceSession, settings: OnnxEmbeddingSettings, sha256: string, dims: number) {
    this.#session = session;
    this.#settings = settings;
    this.dims = dims;
    const { impostor, target } = settings.calibration;
    this.info = {
      name: `onnx-embedding-${dims} ${describeFeatures(settings.features)} window=${settings.windowFrames || 'whole'} calibration=${impostor},${target}`,
      version: sha256,
    };
    // A voiceprint is bound to the model file and its front end: another either way is another space.
    this.#tag = createHash('sha256')
      .update(`${sha256}|${describeFeatures(settings.features)}|${settings.windowFrames}`)
      .digest()
      .subarray(0, TAG_BYTES);
  }

  static async load(settings: OnnxEmbeddingSettings): Promise<OnnxEmbeddingSpeakerModel> {
    const where = `the speaker model ${settings.path} (VOCALIS_SPEAKER_ONNX_PATH)`;
    let bytes: Buffer;
    try {
      bytes = await readFile(settings.path);
    } catch {
      throw new SpeakerModelLoadError(
        `${where} cannot be read; point VOCALIS_SPEAKER_ONNX_PATH at an ONNX speaker-embedding model, or set VOCALIS_SPEAKER_MODEL=gmm-ubm`,
      );
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
    } catch (error) {
      throw new SpeakerModelLoadError(`${where} is not a loadable ONNX model (${firstLine(error)})`);
    }
    if (session.inputNames.length !== 1 || session.outputNames.length < 1) {
      throw new SpeakerModelLoadError(`${where} must take one input (features [1, frames, bins]) and give an embedding; it takes ${session.inputNames.length}`);
    }
    // A probe run: the declared features must be what the model takes, and it must give one vector.
    let probe: Float32Array;
    try {
      probe = await run(session, probeFeatures(settings.features.melBins), PROBE_FRAMES, settings.features.melBins);
    } catch (error) {
      await session.release();
      throw new SpeakerModelLoadError(
        `${where} does not take ${describeFeatures(settings.features)} features as [1, frames, ${settings.features.melBins}] (VOCALIS_SPEAKER_ONNX_FEATURES): ${firstLine(error)}`,
      );
    }
    if (probe.length < 2) {
      await session.release();
      throw new SpeakerModelLoadError(`${where} gives ${probe.length} number(s) per clip, not an embedding`);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return new OnnxEmbeddingSpeakerModel(session, settings, sha256, probe.length);
  }

  async close(): Promise<void> {
    await this.#session.release();
  }

  async enrol(pcm: PcmChunk, previous?: Uint8Array): Promise<Uint8Array> {
    return this.enrolEmbedding(await this.embed(pcm), previous);
  }

  /** Folds an embedding already computed into a voiceprint (the benchmark reuses them). */
  enrolEmbedding(clip: ClipEmbedding, previous?: Uint8Array): Uint8Array {
    const prior = previous ? this.#decodeEnrolment(previous) : { weight: 0, mean: new Float32Array(this.dims) };
    if (!clip.embedding) return this.#encodeEnrolment(prior.weight, prior.mean);
    const weight = prior.weight + clip.speechSeconds;
    const mean = prior.mean.map((m, i) => (m * prior.weight + clip.embedding![i]! * clip.speechSeconds) / weight);
    return this.#encodeEnrolment(weight, mean);
  }

  async score(enrolment: Uint8Array, pcm: PcmChunk): Promise<SpeakerScore> {
    return this.scoreEmbedding(enrolment, await this.embed(pcm));
  }

  /** Scoring an embedding already computed (the benchmark reuses them). */
  scoreEmbedding(enrolment: Uint8Array, clip: ClipEmbedding): SpeakerScore {
    const voiceprint = this.#decodeEnrolment(enrolment);
    if (!clip.embedding || voiceprint.weight === 0) return { score: -Infinity, speechSeconds: clip.speechSeconds };
    return { score: this.calibrated(cosine(voiceprint.mean, clip.embedding)), speechSeconds: clip.speechSeconds };
  }

  calibrated(cos: number): number {
    const { impostor, target } = this.#settings.calibration;
    return (cos - impostor) / (target - impostor);
  }

  /** The clip's unit-length embedding over its voiced frames (null: too little speech). */
  async embed(pcm: PcmChunk): Promise<ClipEmbedding> {
    const features = embeddingFeatures(pcm, this.#settings.features);
    const speechSeconds = features.frames * FRAME_SECONDS;
    if (features.frames < MIN_FRAMES) return { embedding: null, speechSeconds };
    const sum = new Float32Array(this.dims);
    for (const [start, frames] of windows(features.frames, this.#settings.windowFrames)) {
      const vector = unit(await this.#run(features, start, frames));
      for (let i = 0; i < this.dims; i++) sum[i] = sum[i]! + vector[i]!;
    }
    return { embedding: unit(sum), speechSeconds };
  }

  #run(features: EmbeddingFeatures, start: number, frames: number): Promise<Float32Array> {
    const data = features.data.subarray(start * features.bins, (start + frames) * features.bins);
    const next = this.#queue.then(() => run(this.#session, data, frames, features.bins));
    this.#queue = next.catch(() => undefined);
    return next.then((vector) => {
      if (vector.length !== this.dims) throw new Error(`the speaker model gave ${vector.length} numbers instead of ${this.dims}`);
      return vector;
    });
  }

  #encodeEnrolment(weight: number, mean: Float32Array): Uint8Array {
    const bytes = new Uint8Array(HEADER_BYTES + 4 * this.dims);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, ENROLMENT_MAGIC, true);
    bytes.set(this.#tag, 4);
    view.setUint32(4 + TAG_BYTES, this.dims, true);
    view.setFloat32(8 + TAG_BYTES, weight, true);
    for (const [i, v] of mean.entries()) view.setFloat32(HEADER_BYTES + 4 * i, v, true);
    return bytes;
  }

  #decodeEnrolment(bytes: Uint8Array): { weight: number; mean: Float32Array } {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const tag = bytes.subarray(4, 4 + TAG_BYTES);
    if (bytes.byteLength !== HEADER_BYTES + 4 * this.dims || view.getUint32(0, true) !== ENROLMENT_MAGIC || !tag.every((b, i) => b === this.#tag[i])) {
      throw new EnrolmentMismatchError('this enrolment was made by another speaker model');
    }
    const mean = new Float32Array(this.dims);
    for (let i = 0; i < this.dims; i++) mean[i] = view.getFloat32(HEADER_BYTES + 4 * i, true);
    return { weight: view.getFloat32(8 + TAG_BYTES, true), mean };
  }
}

export interface ClipEmbedding {
  readonly embedding: Float32Array | null;
  readonly speechSeconds: number;
}

async function run(session: ort.InferenceSession, data: Float32Array, frames: number, bins: number): Promise<Float32Array> {
  const input = new ort.Tensor('float32', Float32Array.from(data), [1, frames, bins]);
  const outputs = await session.run({ [session.inputNames[0]!]: input });
  const output = outputs[session.outputNames[0]!]!;
  try {
    if (output.type !== 'float32') throw new Error(`the embedding is ${output.type}, not float32`);
    if (output.dims.slice(0, -1).some((d) => d !== 1)) throw new Error(`the output is [${output.dims.join(', ')}], not one embedding [1, dims]`);
    const vector = Float32Array.from(output.data as Float32Array);
    if (!vector.every(Number.isFinite)) throw new Error('the embedding is not finite');
    return vector;
  } finally {
    for (const tensor of Object.values(outputs)) tensor.dispose();
    input.dispose();
  }
}

/** Varied values (constant input makes normalising layers divide by zero), the same every time. */
function probeFeatures(bins: number): Float32Array {
  return Float32Array.from({ length: PROBE_FRAMES * bins }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.011));
}

/** Windows of `size` frames half a window apart, the last one ending at the last frame (size 0 or more than there is: one). */
function windows(frames: number, size: number): Array<[number, number]> {
  if (size <= 0 || frames <= size) return [[0, frames]];
  const step = Math.max(1, Math.floor(size / 2));
  const out: Array<[number, number]> = [];
  for (let start = 0; start + size <= frames; start += step) out.push([start, size]);
  if (out.at(-1)![0] + size < frames) out.push([frames - size, size]);
  return out;
}

function unit(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  return norm > 0 ? v.map((x) => x / norm) : v;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? -1 : dot / Math.sqrt(na * nb);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

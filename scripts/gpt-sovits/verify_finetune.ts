/**
 * The TypeScript half of the upstream integration check (verify_upstream.py runs it): one real
 * fine-tune through Vocalis's GPT-SoVITS backend and trainer driver — upstream's preparation
 * scripts, s2_train.py and s1_train.py, our export and models check, the smoke synthesis — then
 * a sentence with the fine-tuned voice through our chain to an Ogg Opus file. Prints one JSON
 * line: metrics, timings, the job folder's peak size, the voice's files.
 *
 *   node scripts/gpt-sovits/verify_finetune.ts --home H --python P --pretrained D --models M
 *     --version v2|v2Pro|v2ProPlus --sample S.wav --work DIR --out VOICE.ogg [--epochs 1] [--batch 4]
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readingScript } from '../../src/consent/reading-script.ts';
import { decodeAudioFile } from '../../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../../src/engine/audio/opus-frames.ts';
import type { SampleSource, VoiceFiles } from '../../src/engine/backend.ts';
import { createGptSovitsBackend } from '../../src/engine/backends/gpt-sovits/gpt-sovits-backend.ts';
import { GPT_SOVITS_VERSIONS } from '../../src/engine/backends/gpt-sovits/training/options.ts';
import type { GptSovitsVersion } from '../../src/engine/backends/gpt-sovits/training/options.ts';

const { values: a } = parseArgs({
  options: {
    home: { type: 'string' },
    python: { type: 'string' },
    pretrained: { type: 'string' },
    models: { type: 'string' },
    version: { type: 'string' },
    sample: { type: 'string' },
    work: { type: 'string' },
    out: { type: 'string' },
    epochs: { type: 'string', default: '1' },
    batch: { type: 'string', default: '4' },
  },
});
for (const k of ['home', 'python', 'pretrained', 'models', 'version', 'sample', 'work', 'out'] as const) {
  if (!a[k]) throw new Error(`verify_finetune.ts needs --${k}`);
}
const version = a.version as GptSovitsVersion;
if (!GPT_SOVITS_VERSIONS.includes(version)) throw new Error(`--version must be one of ${GPT_SOVITS_VERSIONS.join(', ')}`);

class DirVoiceFiles implements VoiceFiles {
  readonly names = new Set<string>();
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }
  async write(name: string, data: Uint8Array): Promise<void> {
    this.names.add(name);
    await writeFile(join(this.dir, name), data);
  }
  async read(name: string): Promise<Uint8Array> {
    const { readFile } = await import('node:fs/promises');
    return new Uint8Array(await readFile(join(this.dir, name)));
  }
  async has(name: string): Promise<boolean> {
    return this.names.has(name);
  }
}

/** Size of a folder in bytes (du), sampled while the job runs for the peak disk use. */
function folderBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return Number((r.stdout ?? '').split('\t')[0]) || 0;
}

const scratch = join(a.work!, 'scratch');
const voiceDir = join(a.work!, 'voice');
await mkdir(scratch, { recursive: true });
await mkdir(voiceDir, { recursive: true });
const pcmCache = new Map<number, Awaited<ReturnType<typeof decodeAudioFile>>>();
const sample: SampleSource = {
  // LibriSpeech speakers did not read our script: the alignment is meaningless, the shapes real.
  script: readingScript('en', 'blue river seven'),
  async read(sampleRate) {
    let pcm = pcmCache.get(sampleRate);
    if (!pcm) {
      pcm = await decodeAudioFile(a.sample!, { sampleRate });
      pcmCache.set(sampleRate, pcm);
    }
    return { samples: pcm.samples, sampleRate: pcm.sampleRate };
  },
};

// Ctrl-C / SIGTERM cancel the job: the trainer stops its process group and removes the work
// folder (a plain exit would orphan upstream's trainers and their data loaders).
const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort(new Error(`stopped by ${sig}`)));

const backend = createGptSovitsBackend({
  modelsDir: a.models!,
  training: {
    home: a.home!,
    python: a.python!,
    pretrainedDir: a.pretrained!,
    version,
    sovitsEpochs: Number(a.epochs),
    gptEpochs: Number(a.epochs),
    batchSize: Number(a.batch),
    half: false, // CPU: no fp16
    heldOutSentences: 0, // no per-epoch scoring: one export, at the end
    lockDir: join(a.work!, 'locks'),
    cacheDir: join(a.work!, 'cache'),
    // Hub-only assets (nltk data) generated shape-only: this is a check, not a worker.
    env: { VOCALIS_GSV_SHAPE_ONLY: '1', OMP_NUM_THREADS: process.env['OMP_NUM_THREADS'] ?? '2' },
  },
});

let peakBytes = 0;
const watch = setInterval(() => (peakBytes = Math.max(peakBytes, folderBytes(join(scratch, 'gpt-sovits-train')))), 5_000);
const stages: Array<{ stage: string; at: number }> = [];
const t0 = performance.now();
const files = new DirVoiceFiles(voiceDir);
try {
  const result = await backend.fineTune({
    voiceId: 'v_verify',
    sample,
    files,
    scratchDir: scratch,
    signal: controller.signal,
    progress: (p) => {
      if (stages.at(-1)?.stage !== p.stage) {
        stages.push({ stage: p.stage, at: (performance.now() - t0) / 1000 });
        process.stderr.write(`[verify] ${p.stage} at ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
      }
    },
  });
  const fineTuneSeconds = (performance.now() - t0) / 1000;
  clearInterval(watch);
  const t1 = performance.now();
  const voice = await backend.loadVoice(files, new AbortController().signal);
  const chunks = voice.synthesize({
    text: 'Hello, this voice was fine-tuned by upstream code through Vocalis.',
    language: 'en',
    speed: 1,
    variability: 0,
    signal: new AbortController().signal,
  });
  const ogg = await encodeOggOpus(chunks);
  voice.dispose();
  await writeFile(a.out!, ogg);
  process.stdout.write(
    `${JSON.stringify({
      version,
      fineTuneSeconds,
      synthesisSeconds: (performance.now() - t1) / 1000,
      oggBytes: ogg.length,
      peakJobBytes: peakBytes,
      jobFolderLeft: folderBytes(join(scratch, 'gpt-sovits-train')),
      stages,
      metrics: result.metrics,
      voiceFiles: [...files.names].sort(),
    })}\n`,
  );
} catch (error) {
  if (!controller.signal.aborted) throw error;
  process.stderr.write(`[verify] ${String((controller.signal.reason as Error).message)}: the job was cancelled and its work folder removed\n`);
  process.exitCode = 130;
} finally {
  clearInterval(watch);
  await backend.close();
}

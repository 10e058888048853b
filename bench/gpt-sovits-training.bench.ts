import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadingScript } from '../src/engine/backend.ts';
import { createGptSovitsBackend } from '../src/engine/backends/gpt-sovits/gpt-sovits-backend.ts';
import { buildDataset } from '../src/engine/backends/gpt-sovits/training/dataset.ts';
import { workLayout } from '../src/engine/backends/gpt-sovits/training/layout.ts';
import { writeFixtureModels } from '../test/backends/gpt-sovits/fixtures/fixture-graphs.ts';
import { MemoryVoiceFiles, sampleSource } from '../test/backends/gpt-sovits/helpers.ts';
import { STAND_IN_PYTHON, makeStandInHome } from '../test/backends/gpt-sovits-training/stand-in/make-home.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * GPT-SoVITS fine-tuning, everything around the trainer: dataset preparation for a 60 s sample,
 * and the job's own overhead (GPU slot, dataset, config generation, process orchestration,
 * export + models check + smoke synthesis, staging the files) with the stand-in GPT-SoVITS tree,
 * whose "trainers" take a few milliseconds per epoch. Fixture graphs; no GPU; real exports of a
 * v2 model are hundreds of MB and take the operator's PyTorch far longer than the stand-in.
 */
const PHRASES = 20; // 20 × 2.4 s speech + pauses ≈ 60 s
const SCRIPT: ReadingScript = {
  language: 'en',
  sentences: Array.from({ length: PHRASES }, (_, i) => `Sentence number ${i + 1} is read here with a calm and steady voice.`),
};
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const suite: BenchSuite = {
  name: 'gpt-sovits-training',
  async run() {
    const root = await mkdtemp(join(tmpdir(), 'vocalis-bench-gsvt-'));
    try {
      const sample = sampleSource({ f0: 130, level: 0.3, phrases: PHRASES }, SCRIPT);
      const prep: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await buildDataset(sample, workLayout(join(root, `ds-${i}`), 'v2ProPlus'), 2, new AbortController().signal);
        prep.push((performance.now() - t) / 1000);
      }
      const models = await writeFixtureModels(join(root, 'models'));
      const home = await makeStandInHome(join(root, 'home'));
      const job = async (heldOut: number): Promise<{ total: number; metrics: Readonly<Record<string, number>> }> => {
        const backend = createGptSovitsBackend({
          modelsDir: models,
          training: { home, python: process.execPath, pythonArgs: [STAND_IN_PYTHON], sovitsEpochs: 8, gptEpochs: 15, gpuMemoryMiB: 8192, heldOutSentences: heldOut, patience: 100, lockDir: join(root, 'locks'), env: { STANDIN_EPOCH_MS: '1' } },
        });
        const t = performance.now();
        const result = await backend.fineTune({ voiceId: 'v_bench', sample, files: new MemoryVoiceFiles(), scratchDir: join(root, `scratch-${heldOut}`), signal: new AbortController().signal, progress: () => {} });
        const total = (performance.now() - t) / 1000;
        await backend.close();
        return { total, metrics: result.metrics };
      };
      const plain = await job(0);
      const trainerSeconds = (plain.metrics['featureSeconds'] ?? 0) + (plain.metrics['sovitsTrainSeconds'] ?? 0) + (plain.metrics['gptTrainSeconds'] ?? 0);
      const scored = await job(2);
      const evaluations = 8 + 15;
      const figures: BenchFigure[] = [
        { metric: 'dataset preparation, 60 s sample (median of 3)', value: median(prep), unit: 's' },
        { metric: 'job total, stand-in trainers, no checkpoint scoring', value: plain.total, unit: 's' },
        { metric: 'of which stand-in trainer processes (prep + s2 + s1)', value: trainerSeconds, unit: 's' },
        { metric: 'overhead outside the trainer', value: plain.total - trainerSeconds, unit: 's', target: '<= 10 s' },
        { metric: 'of which dataset', value: plain.metrics['datasetSeconds'] ?? NaN, unit: 's' },
        { metric: 'of which export + models check + smoke test', value: plain.metrics['exportSeconds'] ?? NaN, unit: 's' },
        { metric: 'of which GPU slot wait', value: plain.metrics['gpuWaitSeconds'] ?? NaN, unit: 's' },
        { metric: 'job total with scoring of all 23 saved epochs', value: scored.total, unit: 's' },
        { metric: 'per saved epoch: export + 2 held-out syntheses + scoring', value: (scored.total - plain.total) / evaluations, unit: 's' },
      ];
      return figures;
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
};

export default suite;

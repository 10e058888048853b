/** Shared set-up: fixture models directory, stand-in GPT-SoVITS home, a backend that trains with it. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FineTuneContext, FineTuneProgress } from '../../../src/engine/backend.ts';
import { createGptSovitsBackend } from '../../../src/engine/backends/gpt-sovits/gpt-sovits-backend.ts';
import type { GptSovitsBackend } from '../../../src/engine/backends/gpt-sovits/gpt-sovits-backend.ts';
import type { TrainingOptions } from '../../../src/engine/backends/gpt-sovits/training/options.ts';
import { writeFixtureModels } from '../gpt-sovits/fixtures/fixture-graphs.ts';
import { MemoryVoiceFiles, SCRIPT, sampleSource } from '../gpt-sovits/helpers.ts';
import { STAND_IN_PYTHON, makeStandInHome, standInPretrainedDir } from './stand-in/make-home.ts';

export interface Rig {
  readonly root: string;
  readonly models: string;
  readonly home: string;
  backend(extra?: Partial<TrainingOptions>): GptSovitsBackend;
  context(signal?: AbortSignal): { ctx: FineTuneContext; files: MemoryVoiceFiles; progress: FineTuneProgress[]; scratch: string };
  cleanup(): Promise<void>;
}

export async function makeRig(): Promise<Rig> {
  const root = await mkdtemp(join(tmpdir(), 'vocalis-gsv-train-'));
  // Pro fixtures (sv.onnx in the shared models): new fine-tunes default to v2ProPlus.
  const models = await writeFixtureModels(join(root, 'models'), { pro: true });
  const home = await makeStandInHome(join(root, 'GPT-SoVITS'));
  let n = 0;
  return {
    root,
    models,
    home,
    backend: (extra = {}) =>
      createGptSovitsBackend({
        modelsDir: models,
        training: {
          home,
          pretrainedDir: standInPretrainedDir(home),
          cacheDir: join(root, 'cache'),
          python: process.execPath,
          pythonArgs: [STAND_IN_PYTHON],
          sovitsEpochs: 3,
          gptEpochs: 3,
          gpuMemoryMiB: 8192,
          heldOutSentences: 1,
          lockDir: join(root, 'locks'),
          killGraceMs: 300,
          ...extra,
          env: { STANDIN_EPOCH_MS: '20', ...extra.env },
        },
      }),
    context: (signal = new AbortController().signal) => {
      const files = new MemoryVoiceFiles();
      const progress: FineTuneProgress[] = [];
      const scratch = join(root, `scratch-${n++}`);
      const ctx: FineTuneContext = {
        voiceId: 'v_test',
        sample: sampleSource({ f0: 140, level: 0.3 }, SCRIPT),
        files,
        scratchDir: scratch,
        signal,
        progress: (u) => progress.push(u),
      };
      return { ctx, files, progress, scratch };
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/**
 * The two training phases as data: SoVITS (s2) first, then GPT (s1). Everything that differs
 * between them — upstream's script and its arguments, where it saves weights and how their
 * names read, how its output is parsed, what is left behind to resume from — is one record
 * here; the driver (trainer.ts, phase-run.ts) runs either the same way.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeS1Config, writeS2Config } from './configs.ts';
import type { TrainerSettings } from './configs.ts';
import { EXP_NAME } from './layout.ts';
import type { UpstreamPaths, WorkLayout } from './layout.ts';
import { parseS1Line, parseS2Line } from './log-parsers.ts';
import type { TrainerEvent } from './log-parsers.ts';
import type { ResolvedTrainingOptions } from './options.ts';

export type PhaseName = 'sovits' | 'gpt';

export interface TrainingPhase {
  /** Prefix of the phase's metrics and export folders, and `phase` in progress details. */
  readonly name: PhaseName;
  /** The driver's state while the phase runs. */
  readonly state: 'training_sovits' | 'training_gpt';
  /** Upstream's script, as failures name it. */
  readonly scriptName: string;
  readonly epochs: (o: ResolvedTrainingOptions) => number;
  /** Work still to come after this phase, in this phase's epochs (for the time estimate). */
  readonly epochsAfter: (o: ResolvedTrainingOptions) => number;
  readonly writeConfig: (up: UpstreamPaths, work: WorkLayout, settings: TrainerSettings) => Promise<string>;
  readonly script: (up: UpstreamPaths) => string;
  readonly args: (work: WorkLayout) => string[];
  /** Environment the script needs beyond the common one. */
  readonly env: (o: ResolvedTrainingOptions) => Record<string, string>;
  /** Where the script saves each epoch's weights, and their file names (group 1: the epoch). */
  readonly weightsDir: (work: WorkLayout) => string;
  readonly checkpoint: RegExp;
  readonly parse: (line: string) => TrainerEvent[];
  /** An epoch of this phase is exported with the other phase's chosen (or pretrained) checkpoint. */
  readonly pair: (checkpoint: string, partner: string) => { gpt: string; sovits: string };
  /** Upstream's resumable state (optimizer state, Lightning checkpoints): we never resume. */
  readonly dropResumeState: (work: WorkLayout) => Promise<void>;
}

export const SOVITS_PHASE: TrainingPhase = {
  name: 'sovits',
  state: 'training_sovits',
  scriptName: 's2_train.py',
  epochs: (o) => o.sovitsEpochs,
  // GPT epochs take about half as long as SoVITS epochs.
  epochsAfter: (o) => o.gptEpochs * 0.5,
  writeConfig: writeS2Config,
  script: (up) => up.s2Train,
  args: (work) => ['--config', work.s2ConfigFile],
  env: () => ({}),
  weightsDir: (work) => work.sovitsWeights,
  checkpoint: new RegExp(`^${EXP_NAME}_e(\\d+)_s\\d+\\.pth$`),
  parse: (line) => {
    const event = parseS2Line(line);
    return event ? [event] : [];
  },
  pair: (checkpoint, partner) => ({ gpt: partner, sovits: checkpoint }),
  dropResumeState: async (work) => {
    const names = await readdir(work.s2LogDir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => /^[GD]_\d+\.pth$/.test(n)).map((n) => rm(join(work.s2LogDir, n), { force: true })));
  },
};

export const GPT_PHASE: TrainingPhase = {
  name: 'gpt',
  state: 'training_gpt',
  scriptName: 's1_train.py',
  epochs: (o) => o.gptEpochs,
  epochsAfter: () => 0,
  writeConfig: writeS1Config,
  script: (up) => up.s1Train,
  args: (work) => ['--config_file', work.s1ConfigFile],
  env: (o) => ({ _CUDA_VISIBLE_DEVICES: o.device, hz: '25hz' }),
  weightsDir: (work) => work.gptWeights,
  checkpoint: new RegExp(`^${EXP_NAME}-e(\\d+)\\.ckpt$`),
  parse: parseS1Line,
  pair: (checkpoint, partner) => ({ gpt: checkpoint, sovits: partner }),
  dropResumeState: async (work) => {
    await rm(join(work.s1LogDir, 'ckpt'), { recursive: true, force: true });
  },
};

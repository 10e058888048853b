export { GptSovitsTrainer } from './trainer.ts';
export type { TrainedVoice, TrainerJob, TrainerState } from './trainer.ts';
export { resolveTrainingOptions, batchSizeFor } from './options.ts';
export type { TrainingOptions, ResolvedTrainingOptions } from './options.ts';
export { StagedVoiceFiles } from './staged-files.ts';

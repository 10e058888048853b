/**
 * Where everything lives. Upstream paths are relative to GPT_SOVITS_HOME (the WebUI runs with the
 * checkout as its working directory); everything this job writes — dataset, features,
 * checkpoints, logs, exports, generated configs — lives under one private work folder inside the
 * job's scratch directory, so deleting that folder deletes every trace of the voice.
 */
import { join } from 'node:path';

/** Experiment name given to upstream; the work folder is private, so it carries no user id. */
export const EXP_NAME = 'vocalis';

export interface UpstreamPaths {
  readonly getText: string;
  readonly getHubert: string;
  readonly getSemantic: string;
  readonly s2Train: string;
  readonly s1Train: string;
  readonly s2Config: string;
  readonly s1Config: string;
  readonly bertDir: string;
  readonly hubertDir: string;
  readonly pretrainedS2G: string;
  readonly pretrainedS2D: string;
  readonly pretrainedS1: string;
}

export function upstreamPaths(home: string): UpstreamPaths {
  const g = (...p: string[]): string => join(home, 'GPT_SoVITS', ...p);
  const pre = (...p: string[]): string => g('pretrained_models', ...p);
  return {
    getText: g('prepare_datasets', '1-get-text.py'),
    getHubert: g('prepare_datasets', '2-get-hubert-wav32k.py'),
    getSemantic: g('prepare_datasets', '3-get-semantic.py'),
    s2Train: g('s2_train.py'),
    s1Train: g('s1_train.py'),
    s2Config: g('configs', 's2.json'),
    s1Config: g('configs', 's1longer-v2.yaml'),
    bertDir: pre('chinese-roberta-wwm-ext-large'),
    hubertDir: pre('chinese-hubert-base'),
    pretrainedS2G: pre('gsv-v2final-pretrained', 's2G2333k.pth'),
    pretrainedS2D: pre('gsv-v2final-pretrained', 's2D2333k.pth'),
    pretrainedS1: pre('gsv-v2final-pretrained', 's1bert25hz-5kh-longer-epoch=12-step=369668.ckpt'),
  };
}

export interface WorkLayout {
  readonly root: string;
  readonly wavDir: string;
  readonly listFile: string;
  /** Upstream's opt_dir (`logs/<exp>` in the WebUI). */
  readonly optDir: string;
  readonly sovitsWeights: string;
  readonly gptWeights: string;
  readonly exports: string;
  readonly tmp: string;
  readonly s2ConfigFile: string;
  readonly s1ConfigFile: string;
}

export function workLayout(root: string): WorkLayout {
  return {
    root,
    wavDir: join(root, 'dataset', 'wavs'),
    listFile: join(root, 'dataset', 'train.list'),
    optDir: join(root, 'exp'),
    sovitsWeights: join(root, 'SoVITS_weights_v2'),
    gptWeights: join(root, 'GPT_weights_v2'),
    exports: join(root, 'exports'),
    tmp: join(root, 'TEMP'),
    s2ConfigFile: join(root, 'TEMP', 'tmp_s2.json'),
    s1ConfigFile: join(root, 'TEMP', 'tmp_s1.yaml'),
  };
}

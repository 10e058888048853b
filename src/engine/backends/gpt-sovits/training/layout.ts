/**
 * Where everything lives. Upstream scripts are found in GPT_SOVITS_HOME and its pretrained models
 * in `pretrainedDir` (upstream's `GPT_SoVITS/pretrained_models`), per model version as upstream's
 * config.py and webui.py name them. Everything this job writes — dataset, features, checkpoints,
 * logs, exports, generated configs, and upstream's temporary files — lives under one private
 * work folder inside the job's scratch directory, so deleting that folder deletes every trace of
 * the voice.
 */
import { join } from 'node:path';
import type { GptSovitsVersion } from './options.ts';

/** Experiment name given to upstream; the work folder is private, so it carries no user id. */
export const EXP_NAME = 'vocalis';

export interface UpstreamPaths {
  readonly getText: string;
  readonly getHubert: string;
  /** 2-get-sv.py: speaker embeddings (v2Pro/v2ProPlus only). */
  readonly getSv: string;
  readonly getSemantic: string;
  readonly s2Train: string;
  readonly s1Train: string;
  /** configs/s2.json, s2v2Pro.json or s2v2ProPlus.json (webui.py open1Ba). */
  readonly s2Config: string;
  readonly s1Config: string;
  readonly bertDir: string;
  readonly hubertDir: string;
  readonly svModel: string;
  readonly pretrainedS2G: string;
  readonly pretrainedS2D: string;
  readonly pretrainedS1: string;
}

export function isPro(version: GptSovitsVersion): boolean {
  return version === 'v2Pro' || version === 'v2ProPlus';
}

export function upstreamPaths(home: string, pretrainedDir: string, version: GptSovitsVersion): UpstreamPaths {
  const g = (...p: string[]): string => join(home, 'GPT_SoVITS', ...p);
  const pre = (...p: string[]): string => join(pretrainedDir, ...p);
  const pro = isPro(version);
  return {
    getText: g('prepare_datasets', '1-get-text.py'),
    getHubert: g('prepare_datasets', '2-get-hubert-wav32k.py'),
    getSv: g('prepare_datasets', '2-get-sv.py'),
    getSemantic: g('prepare_datasets', '3-get-semantic.py'),
    s2Train: g('s2_train.py'),
    s1Train: g('s1_train.py'),
    s2Config: g('configs', pro ? `s2${version}.json` : 's2.json'),
    s1Config: g('configs', 's1longer-v2.yaml'),
    bertDir: pre('chinese-roberta-wwm-ext-large'),
    hubertDir: pre('chinese-hubert-base'),
    svModel: pre('sv', 'pretrained_eres2netv2w24s4ep4.ckpt'),
    pretrainedS2G: pro ? pre('v2Pro', `s2G${version}.pth`) : pre('gsv-v2final-pretrained', 's2G2333k.pth'),
    pretrainedS2D: pro ? pre('v2Pro', `s2D${version}.pth`) : pre('gsv-v2final-pretrained', 's2D2333k.pth'),
    pretrainedS1: pro ? pre('s1v3.ckpt') : pre('gsv-v2final-pretrained', 's1bert25hz-5kh-longer-epoch=12-step=369668.ckpt'),
  };
}

/** The pretrained files a version needs (what an operator must have installed). */
export function requiredPretrained(up: UpstreamPaths, version: GptSovitsVersion): string[] {
  return [up.pretrainedS2G, up.pretrainedS2D, up.pretrainedS1, up.bertDir, up.hubertDir, ...(isPro(version) ? [up.svModel] : [])];
}

export interface WorkLayout {
  readonly root: string;
  readonly wavDir: string;
  readonly listFile: string;
  /** Upstream's opt_dir / exp_dir (`logs/<exp>` in the WebUI). */
  readonly optDir: string;
  /** s2_train.py's G_/D_ checkpoints (`<exp_dir>/logs_s2_<version>`); only webui.py creates it upstream. */
  readonly s2LogDir: string;
  /** s1_train.py's output_dir (Lightning checkpoints under ckpt/, TensorBoard logs). */
  readonly s1LogDir: string;
  readonly sovitsWeights: string;
  readonly gptWeights: string;
  readonly exports: string;
  readonly tmp: string;
  /**
   * Working directory of every upstream process: upstream's my_save writes "<time>.pth" into the
   * working directory before moving it, and its scripts find `GPT_SoVITS/…` and `tools/…`
   * relative to it, so it holds links to those two folders of the checkout and nothing else.
   */
  readonly cwd: string;
  readonly s2ConfigFile: string;
  readonly s1ConfigFile: string;
}

export function workLayout(root: string, version: GptSovitsVersion): WorkLayout {
  const optDir = join(root, 'exp');
  return {
    root,
    wavDir: join(root, 'dataset', 'wavs'),
    listFile: join(root, 'dataset', 'train.list'),
    optDir,
    s2LogDir: join(optDir, `logs_s2_${version}`),
    s1LogDir: join(optDir, `logs_s1_${version}`),
    sovitsWeights: join(root, `SoVITS_weights_${version}`),
    gptWeights: join(root, `GPT_weights_${version}`),
    exports: join(root, 'exports'),
    tmp: join(root, 'TEMP'),
    cwd: join(root, 'cwd'),
    s2ConfigFile: join(root, 'TEMP', 'tmp_s2.json'),
    s1ConfigFile: join(root, 'TEMP', 'tmp_s1.yaml'),
  };
}

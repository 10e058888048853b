/**
 * Generated trainer configs, the way upstream's WebUI writes them (open1Ba → TEMP/tmp_s2.json
 * from configs/s2.json or s2v2Pro(Plus).json; open1Bb → TEMP/tmp_s1.yaml from
 * configs/s1longer-v2.yaml), with every output path pointed into the job's private work folder.
 * `if_save_latest` is on for both: upstream then keeps one G_/D_ pair (weights + optimizer state,
 * ~1 GB for v2) and one Lightning checkpoint, overwritten each epoch, instead of one per epoch —
 * several GB per job otherwise. We never resume, so the driver deletes even those after a phase.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { EXP_NAME } from './layout.ts';
import type { UpstreamPaths, WorkLayout } from './layout.ts';
import type { GptSovitsVersion } from './options.ts';
import { emitSimpleYaml, parseSimpleYaml } from './simple-yaml.ts';
import type { Scalar } from './simple-yaml.ts';

export interface TrainerSettings {
  readonly batchSize: number;
  readonly epochs: number;
  readonly half: boolean;
  readonly device: string;
  readonly version: GptSovitsVersion;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function section(doc: Record<string, Json>, key: string): Record<string, Json> {
  const value = doc[key];
  if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  const created: Record<string, Json> = {};
  doc[key] = created;
  return created;
}

export async function writeS2Config(up: UpstreamPaths, work: WorkLayout, s: TrainerSettings): Promise<string> {
  const doc = JSON.parse(await readFile(up.s2Config, 'utf8')) as Record<string, Json>;
  const train = section(doc, 'train');
  if (!s.half) train['fp16_run'] = false;
  Object.assign(train, {
    batch_size: s.batchSize,
    epochs: s.epochs,
    text_low_lr_rate: 0.4,
    pretrained_s2G: up.pretrainedS2G,
    pretrained_s2D: up.pretrainedS2D,
    if_save_latest: true,
    if_save_every_weights: true,
    save_every_epoch: 1,
    gpu_numbers: s.device,
    grad_ckpt: false,
    lora_rank: 32,
  });
  section(doc, 'model')['version'] = s.version;
  section(doc, 'data')['exp_dir'] = work.optDir;
  doc['s2_ckpt_dir'] = work.optDir;
  doc['save_weight_dir'] = work.sovitsWeights;
  doc['name'] = EXP_NAME;
  doc['version'] = s.version;
  await writeFile(work.s2ConfigFile, JSON.stringify(doc, null, 2));
  return work.s2ConfigFile;
}

export async function writeS1Config(up: UpstreamPaths, work: WorkLayout, s: TrainerSettings): Promise<string> {
  const doc = parseSimpleYaml(await readFile(up.s1Config, 'utf8'));
  const train: Record<string, Scalar> = { ...(typeof doc['train'] === 'object' && doc['train'] !== null ? doc['train'] : {}) };
  if (!s.half) train['precision'] = '32';
  Object.assign(train, {
    batch_size: s.batchSize,
    epochs: s.epochs,
    save_every_n_epoch: 1,
    if_save_every_weights: true,
    if_save_latest: true,
    if_dpo: false,
    half_weights_save_dir: work.gptWeights,
    exp_name: EXP_NAME,
  });
  doc['train'] = train;
  doc['pretrained_s1'] = up.pretrainedS1;
  doc['train_semantic_path'] = `${work.optDir}/6-name2semantic.tsv`;
  doc['train_phoneme_path'] = `${work.optDir}/2-name2text.txt`;
  doc['output_dir'] = work.s1LogDir;
  await writeFile(work.s1ConfigFile, emitSimpleYaml(doc));
  return work.s1ConfigFile;
}

/**
 * Builds a stand-in GPT_SOVITS_HOME: upstream's layout, config templates (s2.json, s2v2Pro.json,
 * s2v2ProPlus.json, s1longer-v2.yaml) and placeholder pretrained weights for every version, in
 * `GPT_SoVITS/pretrained_models` as upstream's README lays them out.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { upstreamPaths } from '../../../../src/engine/backends/gpt-sovits/training/layout.ts';
import { GPT_SOVITS_VERSIONS } from '../../../../src/engine/backends/gpt-sovits/training/options.ts';

export const STAND_IN_PYTHON = new URL('./python.mjs', import.meta.url).pathname;

/** The keys of upstream's configs/s2.json that the WebUI and s2_train.py use. */
const S2_TEMPLATE = {
  train: {
    log_interval: 100,
    eval_interval: 500,
    seed: 1234,
    epochs: 100,
    learning_rate: 0.0001,
    betas: [0.8, 0.99],
    eps: 1e-9,
    batch_size: 32,
    fp16_run: true,
    lr_decay: 0.999875,
    segment_size: 20480,
    init_lr_ratio: 1,
    warmup_epochs: 0,
    c_mel: 45,
    c_kl: 1.0,
    text_low_lr_rate: 0.4,
  },
  data: {
    max_wav_value: 32768.0,
    sampling_rate: 32000,
    filter_length: 2048,
    hop_length: 640,
    win_length: 2048,
    n_mel_channels: 128,
    mel_fmin: 0.0,
    mel_fmax: null,
    add_blank: true,
    n_speakers: 300,
    cleaned_text: true,
  },
  model: {
    inter_channels: 192,
    hidden_channels: 192,
    filter_channels: 768,
    n_heads: 2,
    n_layers: 6,
    kernel_size: 3,
    p_dropout: 0.1,
    resblock: '1',
    gin_channels: 512,
    semantic_frame_rate: '25hz',
    freeze_quantizer: true,
  },
  s2_ckpt_dir: 'logs/s2/big2k1',
  content_module: 'cnhubert',
};

const S1_TEMPLATE = `train:
  seed: 1234
  epochs: 20
  batch_size: 8
  save_every_n_epoch: 1
  precision: 16-mixed
  gradient_clip: 1.0
optimizer:
  lr: 0.01
  lr_init: 0.00001
  lr_end: 0.0001
  warmup_steps: 2000
  decay_steps: 40000
data:
  max_eval_sample: 8
  max_sec: 54
  num_workers: 4
  pad_val: 1024 # same with EOS in model
model:
  vocab_size: 1025
  phoneme_vocab_size: 732
  embedding_dim: 512
  hidden_dim: 512
  head: 16
  linear_units: 2048
  n_layer: 24
  dropout: 0
  EOS: 1024
  random_bert: 0
inference:
  top_k: 15
`;

/** s2v2Pro.json / s2v2ProPlus.json differ from s2.json in the model section only. */
const PRO_MODEL = { p_dropout: 0.0, gin_channels: 1024 };

/** A pretrained file as upstream's s2_train.py reads it: a plain torch.save zip ("PK"). */
const PLAIN_CHECKPOINT = 'PK\u0003\u0004 stand-in pretrained weights';

export function standInPretrainedDir(home: string): string {
  return join(home, 'GPT_SoVITS', 'pretrained_models');
}

export async function makeStandInHome(home: string): Promise<string> {
  const files: Record<string, string> = {
    [join(home, 'tools', 'my_utils.py')]: '# stand-in\n',
    [join(home, 'tools', 'i18n', 'i18n.py')]: '# stand-in\n',
  };
  for (const version of GPT_SOVITS_VERSIONS) {
    const up = upstreamPaths(home, standInPretrainedDir(home), version);
    const model = version === 'v2' ? S2_TEMPLATE.model : { ...S2_TEMPLATE.model, ...PRO_MODEL };
    Object.assign(files, {
      [up.s2Config]: JSON.stringify({ ...S2_TEMPLATE, model }, null, 2),
      [up.s1Config]: S1_TEMPLATE,
      [up.pretrainedS2G]: PLAIN_CHECKPOINT,
      [up.pretrainedS2D]: PLAIN_CHECKPOINT,
      [up.pretrainedS1]: PLAIN_CHECKPOINT,
      [up.svModel]: PLAIN_CHECKPOINT,
      [join(up.bertDir, 'config.json')]: '{}',
      [join(up.hubertDir, 'config.json')]: '{}',
    });
    for (const script of [up.getText, up.getHubert, up.getSv, up.getSemantic, up.s2Train, up.s1Train]) files[script] = '# stand-in: emulated by python.mjs\n';
  }
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
  return home;
}

#!/usr/bin/env node
/**
 * Stand-in for the operator's GPT-SoVITS Python: run as `<node> python.mjs -s <script> [args]`,
 * it emulates the upstream script named by the path's basename — same environment variables,
 * command-line flags, file layout and log lines as GPT-SoVITS's prepare_datasets/*.py,
 * s2_train.py (logging lines) and s1_train.py (Lightning tqdm on stderr, \r-separated) — and,
 * for the project's export_onnx.py, writes real fixture ONNX graphs. No Python, no GPU.
 *
 * Crash points found by running upstream for real (issue 11), reproduced here so CI guards them:
 *   - every script runs from the working directory as if it were the checkout root (upstream
 *     reads `GPT_SoVITS/…` and `tools/…` relative to it): ModuleNotFoundError when it is not;
 *   - my_save writes "<time>.pth" into the working directory, then moves it;
 *   - s2_train.py never creates `<exp_dir>/logs_s2_<version>` (only webui.py does) and saves G_/D_
 *     there at the end of each epoch, before the epoch's weights: FileNotFoundError without it;
 *   - G_/D_ (with optimizer state) per epoch, or one overwritten pair with if_save_latest; the
 *     same for Lightning checkpoints under <output_dir>/ckpt;
 *   - SoVITS weights hold a utils.HParams object, and v2Pro/v2ProPlus ones start with my_save2's
 *     version header ("05"/"06") instead of "PK": a loader without Vocalis's upstream_shim (torch
 *     ≥ 2.6 refuses HParams; torch.load cannot read the header) fails with UnpicklingError;
 *   - 2-get-sv.py (Pro) writes 7-sv_cn/, which s2_train.py asserts for Pro;
 *   - upstream's preparation scripts print a traceback per failed line and exit 0;
 *   - s1_train.py's Lightning uses RichProgressBar when rich is installed (gradio brings it),
 *     which prints nothing on a pipe: epoch progress only with the shim (TQDM bar).
 *
 * Test-only knobs (never read by the driver):
 *   STANDIN_FAULT      crash:<s2|s1|prep|export>[:epoch] | hang:<s2|s1>[:epoch] | disk-full:<s2|s1>[:epoch] | export-bad
 *   STANDIN_EPOCH_MS   time per epoch (default 20)
 *   STANDIN_RECORD     file to append one JSON line per invocation (script, args, selected env)
 *   STANDIN_PIDFILE    file to append the pids of a hanging trainer and its grandchild
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '-s'));
const script = basename(args[0] ?? '');
const rest = args.slice(1);
const env = process.env;
const epochMs = Number(env.STANDIN_EPOCH_MS ?? 20);
const [faultKind, faultWhere, faultEpoch] = (env.STANDIN_FAULT ?? '').split(':');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Python imports sitecustomize from PYTHONPATH at start-up: is Vocalis's shim loaded? */
const siteDir = (env.PYTHONPATH ?? '')
  .split(':')
  .find((d) => d && existsSync(join(d, 'sitecustomize.py')) && readFileSync(join(d, 'sitecustomize.py'), 'utf8').includes('upstream_shim'));
const shimLoaded = siteDir !== undefined;
const shimSource = siteDir ? readFileSync(join(dirname(siteDir), 'upstream_shim.py'), 'utf8') : '';
/** Does the loaded shim carry this fix? (its code, as upstream would feel it) */
const shimHas = (code) => shimSource.includes(code);
const VERSION_HEADER = { v2Pro: '05', v2ProPlus: '06' };

/** Upstream's scripts find GPT_SoVITS/… and tools/… relative to the working directory. */
function requireCheckoutCwd() {
  if (script === 'export_onnx.py') return;
  if (!existsSync(join(process.cwd(), 'GPT_SoVITS')) || !existsSync(join(process.cwd(), 'tools'))) {
    console.error("ModuleNotFoundError: No module named 'tools' (the working directory is not laid out like the checkout)");
    process.exit(1);
  }
}
/** process_ckpt.my_save: a temporary "<time>.pth" in the working directory, then a move. */
function mySave(content, path) {
  const tmp = join(process.cwd(), `${Date.now() / 1000}.pth`);
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}
/** What savee writes: HParams inside; Pro: my_save2's version header instead of the zip magic. */
function sovitsWeights(version, payload) {
  return `${VERSION_HEADER[version] ?? 'PK'}\u0003\u0004${JSON.stringify({ ...payload, config: 'utils.HParams' })}`;
}
/** torch.load as upstream's loaders call it (onnx_export.py's VitsModel: plain torch.load). */
function torchLoad(path) {
  const bytes = readFileSync(path, 'latin1');
  if (!shimHas('if head in _VERSION_HEADERS:') && bytes.slice(0, 2) !== 'PK') {
    console.error(`_pickle.UnpicklingError: invalid load key, '${bytes[0]}'.`);
    process.exit(1);
  }
  if (!shimHas('kwargs.setdefault("weights_only", False)') && bytes.includes('utils.HParams')) {
    console.error('_pickle.UnpicklingError: Weights only load failed. WeightsUnpickler error: Unsupported global: GLOBAL utils.HParams');
    process.exit(1);
  }
  try {
    return JSON.parse(bytes.slice(4));
  } catch {
    return {}; // pretrained placeholder
  }
}

function need(name) {
  const v = env[name];
  if (v === undefined) {
    console.error(`KeyError: environment variable ${name} not set`);
    process.exit(1);
  }
  return v;
}
function flag(name) {
  const i = rest.indexOf(name);
  if (i < 0 || !rest[i + 1]) {
    console.error(`usage: ${script} ${name} PATH`);
    process.exit(2);
  }
  return rest[i + 1];
}
function mustExist(path, what) {
  if (!existsSync(path)) {
    console.error(`FileNotFoundError: ${what} ${path}`);
    process.exit(1);
  }
}
function listLines() {
  const lines = readFileSync(need('inp_text'), 'utf8').replace(/\n+$/, '').split('\n');
  const part = Number(need('i_part'));
  const parts = Number(need('all_parts'));
  return lines.filter((_, i) => i % parts === part).map((l) => l.split('|'));
}
function record(extra = {}) {
  if (!env.STANDIN_RECORD) return;
  const keys = [
    'inp_text',
    'inp_wav_dir',
    'exp_name',
    'opt_dir',
    'i_part',
    'all_parts',
    'is_half',
    '_CUDA_VISIBLE_DEVICES',
    'bert_pretrained_dir',
    'cnhubert_base_dir',
    'sv_path',
    'pretrained_s2G',
    's2config_path',
    'hz',
    'version',
    'HF_HUB_OFFLINE',
    'VOCALIS_GSV_CACHE',
  ];
  const picked = Object.fromEntries(keys.filter((k) => env[k] !== undefined).map((k) => [k, env[k]]));
  const secretSeen = env.VOCALIS_TEST_SECRET !== undefined;
  appendFileSync(env.STANDIN_RECORD, `${JSON.stringify({ script, args: rest, cwd: process.cwd(), env: picked, secretSeen, shimLoaded, ...extra })}\n`);
}
async function faultAt(where, epoch) {
  if (faultWhere !== where || (faultEpoch && Number(faultEpoch) !== epoch)) return;
  if (faultKind === 'crash') {
    console.log('Traceback (most recent call last):');
    console.log('RuntimeError: stand-in crash mid-epoch');
    process.exit(1);
  }
  if (faultKind === 'disk-full') {
    console.error('OSError: [Errno 28] No space left on device');
    process.exit(1);
  }
  if (faultKind === 'hang') {
    process.on('SIGTERM', () => {}); // a stuck CUDA call ignores SIGTERM: only SIGKILL of the group helps
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    if (env.STANDIN_PIDFILE) appendFileSync(env.STANDIN_PIDFILE, `${process.pid}\n${child.pid}\n`);
    setInterval(() => {}, 1000);
    await new Promise(() => {});
  }
}

const scripts = {
  async '1-get-text.py'() {
    record();
    const opt = need('opt_dir');
    mustExist(need('bert_pretrained_dir'), 'bert_pretrained_dir');
    if (!['True', 'False'].includes(need('is_half'))) process.exit(1);
    await faultAt('prep', 1);
    mkdirSync(join(opt, '3-bert'), { recursive: true });
    const out = listLines().map(([wav, , lang, text]) => {
      const phones = Array.from(text.replace(/[^\p{L}]/gu, ''))
        .map((c) => c.toUpperCase())
        .join(' ');
      return `${basename(wav)}\t${phones}\t[1]\t${lang === 'en' ? text.toLowerCase() : text}`;
    });
    writeFileSync(join(opt, `2-name2text-${need('i_part')}.txt`), `${out.join('\n')}\n`);
  },
  async '2-get-hubert-wav32k.py'() {
    record();
    const opt = need('opt_dir');
    mustExist(need('cnhubert_base_dir'), 'cnhubert_base_dir');
    mkdirSync(join(opt, '4-cnhubert'), { recursive: true });
    mkdirSync(join(opt, '5-wav32k'), { recursive: true });
    for (const [wav] of listLines()) {
      const dir = env.inp_wav_dir;
      const path = dir ? join(dir, basename(wav)) : wav;
      const bytes = readFileSync(path);
      if (bytes.subarray(0, 4).toString('latin1') !== 'RIFF') throw new Error('not a WAV');
      writeFileSync(join(opt, '5-wav32k', basename(wav)), bytes);
      mySave('ssl', join(opt, '4-cnhubert', `${basename(wav)}.pt`));
    }
  },
  async '2-get-sv.py'() {
    record();
    const opt = need('opt_dir');
    torchLoad(need('sv_path'));
    mkdirSync(join(opt, '7-sv_cn'), { recursive: true });
    for (const [wav] of listLines()) {
      const path = join(opt, '5-wav32k', basename(wav));
      // name2go runs inside upstream's per-line try/except: a traceback, and on to the next line.
      if (!existsSync(path)) console.log(`${wav}|... Traceback (most recent call last):\nRuntimeError: Error opening '${path}'`);
      else mySave('sv', join(opt, '7-sv_cn', `${basename(wav)}.pt`));
    }
  },
  async '3-get-semantic.py'() {
    record();
    const opt = need('opt_dir');
    mustExist(need('pretrained_s2G'), 'pretrained_s2G');
    mustExist(need('s2config_path'), 's2config_path');
    const out = [];
    for (const [wav] of listLines()) {
      if (existsSync(join(opt, '4-cnhubert', `${basename(wav)}.pt`))) out.push(`${basename(wav)}\t1 2 3 4 5`);
    }
    writeFileSync(join(opt, `6-name2semantic-${need('i_part')}.tsv`), out.join('\n'));
  },
  async 's2_train.py'() {
    const config = JSON.parse(readFileSync(flag('--config'), 'utf8'));
    const version = config.model.version;
    const exp = config.data.exp_dir;
    record({
      config: {
        epochs: config.train.epochs,
        batch_size: config.train.batch_size,
        save_weight_dir: config.save_weight_dir,
        exp_dir: exp,
        name: config.name,
        version,
        gin_channels: config.model.gin_channels,
        pretrained_s2G: config.train.pretrained_s2G,
        if_save_latest: config.train.if_save_latest,
      },
    });
    mustExist(config.train.pretrained_s2G, 'pretrained_s2G');
    torchLoad(config.train.pretrained_s2G);
    mustExist(join(exp, '6-name2semantic.tsv'), 'semantic tokens');
    if (VERSION_HEADER[version] && !existsSync(join(exp, '7-sv_cn'))) {
      console.error('AssertionError (data_utils.py: assert os.path.exists(self.path7))');
      process.exit(1);
    }
    // utils.get_logger(exp_dir) writes train.log into exp_dir; logs_s2_<version> is NOT created.
    const logDir = join(exp, `logs_s2_${version}`);
    mkdirSync(config.save_weight_dir, { recursive: true });
    const log = (m) => {
      console.log(`INFO:${basename(exp)}:${m}`);
      appendFileSync(join(exp, 'train.log'), `${m}\n`);
    };
    let step = 0;
    for (let e = 1; e <= config.train.epochs; e++) {
      log(`Train Epoch: ${e} [0%]`);
      log(`[2.7, ${(3 / e).toFixed(3)}, 8.1, 19.${e}, 0.2, 1.9, ${step}, 0.0001]`);
      await sleep(epochMs / 2);
      await faultAt('s2', e);
      await sleep(epochMs / 2);
      step += 10;
      // utils.save_checkpoint: weights + optimizer state, straight into logs_s2_<version>.
      const tag = config.train.if_save_latest ? 233333333333 : step;
      for (const net of ['G', 'D']) {
        const path = join(logDir, `${net}_${tag}.pth`);
        if (!existsSync(logDir)) {
          console.log('Traceback (most recent call last):');
          console.log(`FileNotFoundError: [Errno 2] No such file or directory: '${path}'`);
          process.exit(1);
        }
        writeFileSync(path, 'PK weights and optimizer state');
      }
      mySave(sovitsWeights(version, { kind: 'sovits', epoch: e }), join(config.save_weight_dir, `${config.name}_e${e}_s${step}.pth`));
      log(`saving ckpt ${config.name}_e${e}:Success.`);
      log(`====> Epoch: ${e}`);
    }
  },
  async 's1_train.py'() {
    const text = readFileSync(flag('--config_file'), 'utf8');
    const get = (key) => (new RegExp(`^\\s*${key}: (.*)$`, 'm').exec(text)?.[1] ?? '').replace(/^"|"$/g, '');
    const resumeLeft = (dir) => (existsSync(dir) ? readdirSync(dir).filter((n) => /^[GD]_\d+\.pth$/.test(n)).length : 0);
    const semantic = get('train_semantic_path');
    record({
      config: {
        epochs: Number(get('epochs')),
        batch_size: Number(get('batch_size')),
        half_weights_save_dir: get('half_weights_save_dir'),
        exp_name: get('exp_name'),
        output_dir: get('output_dir'),
        pretrained_s1: get('pretrained_s1'),
        if_save_latest: get('if_save_latest'),
      },
      // What SoVITS training left for resuming when GPT training starts (disk use of a job).
      s2ResumeFilesLeft: readdirSync(dirname(semantic))
        .filter((n) => n.startsWith('logs_s2_'))
        .reduce((n, d) => n + resumeLeft(join(dirname(semantic), d)), 0),
    });
    if (env.hz !== '25hz') process.exit(1);
    mustExist(get('pretrained_s1'), 'pretrained_s1');
    mustExist(get('train_semantic_path'), 'train_semantic_path');
    mustExist(get('train_phoneme_path'), 'train_phoneme_path');
    const dir = get('half_weights_save_dir');
    mkdirSync(dir, { recursive: true });
    mkdirSync(get('output_dir'), { recursive: true });
    const ckptDir = join(get('output_dir'), 'ckpt');
    mkdirSync(ckptDir, { recursive: true });
    const epochs = Number(get('epochs'));
    // RichProgressBar on a pipe: silent. The shim makes Lightning use its TQDM bar.
    const bar = (text) => shimHas('connector._RICH_AVAILABLE = False') && process.stderr.write(text);
    for (let e = 0; e < epochs; e++) {
      bar(
        `\rEpoch ${e}:  50%|█████     | 1/2 [00:00<00:00, 9.1it/s, v_num=0, total_loss_step=${(300 / (e + 1)).toFixed(1)}, lr_step=0.002, top_3_acc_step=0.4]`,
      );
      await sleep(epochMs / 2);
      await faultAt('s1', e + 1);
      await sleep(epochMs / 2);
      bar(
        `\rEpoch ${e}: 100%|██████████| 2/2 [00:00<00:00, 9.1it/s, v_num=0, total_loss_step=${(280 / (e + 1)).toFixed(1)}, lr_step=0.002, top_3_acc_step=0.5]`,
      );
      // Lightning's checkpoint (full state); with if_save_latest the older ones are removed.
      const older = get('if_save_latest') === 'true' ? readdirSync(ckptDir) : [];
      writeFileSync(join(ckptDir, `epoch=${e}-step=${(e + 1) * 2}.ckpt`), 'PK lightning state');
      for (const n of older) rmSync(join(ckptDir, n), { force: true });
      mySave(`PK\u0003\u0004${JSON.stringify({ kind: 'gpt', epoch: e + 1 })}`, join(dir, `${get('exp_name')}-e${e + 1}.ckpt`));
    }
    process.stderr.write('\n');
  },
  async 'export_onnx.py'() {
    const gpt = flag('--gpt');
    const sovits = flag('--sovits');
    const out = flag('--out');
    const version = flag('--version');
    record();
    mustExist(gpt, 'GPT checkpoint');
    mustExist(sovits, 'SoVITS checkpoint');
    const gptWeights = torchLoad(gpt);
    const sovitsWeightsRead = torchLoad(sovits);
    await faultAt('export', 0);
    const { voiceGraphs } = await import('../../gpt-sovits/fixtures/fixture-graphs.ts');
    // Different checkpoints speak differently, so the scores differ from epoch to epoch.
    const extraTokens = 8 + (((gptWeights.epoch ?? 0) * 3 + (sovitsWeightsRead.epoch ?? 0)) % 7);
    const graphs = voiceGraphs({ extraTokens, layout: 'kv', pro: version !== 'v2' });
    mkdirSync(out, { recursive: true });
    for (const [name, bytes] of Object.entries(graphs)) writeFileSync(join(out, name), bytes);
    if (faultKind === 'export-bad') writeFileSync(join(out, 't2s_decoder.onnx'), graphs['vits.onnx']);
  },
};

const run = scripts[script];
if (!run) {
  console.error(`stand-in python: no emulation for ${script}`);
  process.exit(2);
}
requireCheckoutCwd();
await run();

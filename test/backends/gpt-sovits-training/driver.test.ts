/** The fine-tune driver end to end against the stand-in GPT-SoVITS tree (no Python, no GPU). */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BackendError } from '../../../src/engine/backend.ts';
import { EXPORTED_GRAPHS } from '../../../src/engine/backends/gpt-sovits/training/export-step.ts';
import { collect } from '../gpt-sovits/helpers.ts';
import { makeRig } from './helpers.ts';
import type { Rig } from './helpers.ts';

const GRAPHS = Object.values(EXPORTED_GRAPHS);

interface Call {
  script: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  secretSeen: boolean;
  shimLoaded: boolean;
  config?: Record<string, unknown>;
  s2ResumeFilesLeft?: number;
}

function records(path: string): Promise<Call[]> {
  return readFile(path, 'utf8').then((t) =>
    t
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('GPT-SoVITS fine-tune driver (stand-in tree)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await makeRig();
  });
  afterAll(() => rig.cleanup());

  it('prepares, trains both models, picks checkpoints, exports and stages a loadable voice', async () => {
    const record = join(rig.root, 'record-ok.jsonl');
    const backend = rig.backend({ env: { STANDIN_RECORD: record } });
    process.env['VOCALIS_TEST_SECRET'] = 'must-not-reach-the-trainer';
    const { ctx, files, progress, scratch } = rig.context();
    const result = await backend.fineTune(ctx).finally(() => delete process.env['VOCALIS_TEST_SECRET']);
    for (const name of GRAPHS) assert.ok(files.files.has(name), name);
    assert.ok(files.files.has('gpt-sovits-voice.json'));
    // Stages in the user-visible order, fractions never going back.
    const stages = progress.map((p) => p.stage).filter((s, i, a) => s !== a[i - 1]);
    assert.deepEqual(stages, ['queued', 'preparing', 'training', 'exporting', 'ready']);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.fraction >= progress[i - 1]!.fraction, 'fraction went back');
    const training = progress.filter((p) => p.stage === 'training');
    assert.ok(training.some((p) => p.detail?.['phase'] === 'sovits' && p.detail['epochs'] === 3 && typeof p.detail['loss'] === 'number'));
    assert.ok(training.some((p) => p.detail?.['phase'] === 'gpt' && p.detail['epoch'] === 3));
    // The chosen epochs are the best-scoring ones.
    for (const phase of ['sovits', 'gpt']) {
      const scores = Object.entries(result.metrics).filter(([k]) => k.startsWith(`${phase}ScoreE`));
      assert.ok(scores.length > 0, `${phase} scored`);
      const best = scores.reduce((a, b) => (b[1] < a[1] - 0.05 ? b : a));
      assert.equal(result.metrics[`${phase}BestEpoch`], Number(best[0].slice(`${phase}ScoreE`.length)));
    }
    assert.ok(Number.isFinite(result.metrics['validationMcdDb']));
    // Command lines and environment as upstream's WebUI sets them.
    const calls = await records(record);
    const byScript = (s: string) => calls.filter((c) => c.script === s);
    for (const s of ['1-get-text.py', '2-get-hubert-wav32k.py', '2-get-sv.py', '3-get-semantic.py']) {
      const [c] = byScript(s);
      assert.ok(c, s);
      assert.equal(c.env['version'], 'v2ProPlus');
      assert.equal(c.env['i_part'], '0');
      assert.equal(c.env['all_parts'], '1');
      assert.equal(c.env['exp_name'], 'vocalis');
      assert.equal(c.env['is_half'], 'True');
      assert.ok(c.env['opt_dir']!.startsWith(scratch), 'features stay in the scratch folder');
    }
    assert.ok(
      calls.every((c) => c.secretSeen === false),
      "the worker's own secrets stay out of the children",
    );
    // Every upstream process: in a scratch working directory (my_save's temporary files), never
    // the checkout; with the shim loaded; offline.
    for (const c of calls) {
      assert.ok(c.cwd.startsWith(scratch) && !c.cwd.startsWith(rig.home), `${c.script} ran in ${c.cwd}`);
      assert.equal(c.shimLoaded, true, `${c.script} without upstream_shim`);
      assert.equal(c.env['HF_HUB_OFFLINE'], '1');
    }
    assert.equal(byScript('2-get-sv.py')[0]?.env['sv_path'], join(rig.home, 'GPT_SoVITS', 'pretrained_models', 'sv', 'pretrained_eres2netv2w24s4ep4.ckpt'));
    const [s2] = byScript('s2_train.py');
    assert.equal(s2?.args[0], '--config');
    assert.deepEqual(
      { ...s2?.config, save_weight_dir: undefined, exp_dir: undefined },
      {
        epochs: 3,
        batch_size: 4,
        name: 'vocalis',
        version: 'v2ProPlus',
        gin_channels: 1024,
        if_save_latest: true,
        pretrained_s2G: join(rig.home, 'GPT_SoVITS', 'pretrained_models', 'v2Pro', 's2Gv2ProPlus.pth'),
        save_weight_dir: undefined,
        exp_dir: undefined,
      },
    );
    const [s1] = byScript('s1_train.py');
    assert.equal(s1?.args[0], '--config_file');
    assert.equal(s1?.env['hz'], '25hz');
    // Each phase's own command line and environment, and nothing of the other's.
    assert.deepEqual(
      s2?.args.map((a: string, i: number) => (i === 1 ? a.slice(a.indexOf('/TEMP/')) : a)),
      ['--config', '/TEMP/tmp_s2.json'],
    );
    assert.deepEqual(
      s1?.args.map((a: string, i: number) => (i === 1 ? a.slice(a.indexOf('/TEMP/')) : a)),
      ['--config_file', '/TEMP/tmp_s1.yaml'],
    );
    assert.equal(s2?.env['hz'], undefined);
    assert.equal(s2?.env['_CUDA_VISIBLE_DEVICES'], undefined);
    assert.equal(typeof s1?.env['_CUDA_VISIBLE_DEVICES'], 'string');
    for (const phase of ['sovits', 'gpt']) {
      for (const metric of ['TrainSeconds', 'EpochsRun', 'EarlyStopped', 'BestEpoch', 'Epoch1Seconds']) {
        assert.equal(typeof result.metrics[`${phase}${metric}`], 'number', `${phase}${metric}`);
      }
    }
    assert.equal(s1?.config?.['epochs'], 3);
    assert.equal(s1?.config?.['pretrained_s1'], join(rig.home, 'GPT_SoVITS', 'pretrained_models', 's1v3.ckpt'));
    // Upstream's resume state (G_/D_ with optimizer state) is gone before GPT training starts.
    assert.equal(s1?.s2ResumeFilesLeft, 0);
    assert.ok(byScript('export_onnx.py').every((c) => c.args.includes('--version') && c.args[c.args.indexOf('--version') + 1] === 'v2ProPlus'));
    assert.ok(byScript('export_onnx.py').length >= 2);
    // Everything the job wrote is gone.
    assert.equal(existsSync(join(scratch, 'gpt-sovits-train')), false);
    // The staged voice speaks with its own graphs.
    const voice = await backend.loadVoice(files, new AbortController().signal);
    const out = await collect(voice.synthesize({ text: 'Hello there.', language: 'en', speed: 1, variability: 0, signal: new AbortController().signal }));
    voice.dispose();
    assert.ok(out.samples.length > 0);
    await backend.close();
  });

  it('stops a phase early once the held-out score stops improving', async () => {
    // Slow epochs, so the trainer is still running when the second evaluation says "stop".
    const backend = rig.backend({ sovitsEpochs: 12, gptEpochs: 2, patience: 1, minImprovement: 1e6, env: { STANDIN_EPOCH_MS: '600' } });
    const { ctx } = rig.context();
    const result = await backend.fineTune(ctx);
    assert.equal(result.metrics['sovitsEarlyStopped'], 1);
    assert.equal(result.metrics['sovitsBestEpoch'], 1);
    assert.ok(result.metrics['sovitsEpochsRun']! < 12, `ran ${result.metrics['sovitsEpochsRun']}`);
    await backend.close();
  });

  it('a crash mid-epoch fails the job with a reason, writes nothing, and a retry starts from scratch', async () => {
    const { ctx, files, scratch } = rig.context();
    const crashing = rig.backend({ env: { STANDIN_FAULT: 'crash:s2:2' } });
    await assert.rejects(
      crashing.fineTune(ctx),
      (e: unknown) => e instanceof BackendError && e.code === 'training_failed' && /s2_train\.py exited with code 1 \(RuntimeError\)/.test(e.message),
    );
    assert.equal(files.files.size, 0, 'no half-published voice');
    assert.equal(existsSync(join(scratch, 'gpt-sovits-train')), false);
    const retry = rig.backend();
    await retry.fineTune(ctx);
    for (const name of GRAPHS) assert.ok(files.files.has(name));
    await crashing.close();
    await retry.close();
  });

  it('reports a full disk as disk_full', async () => {
    const { ctx, files } = rig.context();
    const backend = rig.backend({ env: { STANDIN_FAULT: 'disk-full:s1:1' } });
    await assert.rejects(backend.fineTune(ctx), (e: unknown) => e instanceof BackendError && e.code === 'disk_full');
    assert.equal(files.files.size, 0);
    await backend.close();
  });

  it('a failed export (graphs that fail models check) leaves no trace but the reason', async () => {
    const { ctx, files, scratch } = rig.context();
    const backend = rig.backend({ heldOutSentences: 0, env: { STANDIN_FAULT: 'export-bad' } });
    await assert.rejects(backend.fineTune(ctx), (e: unknown) => e instanceof BackendError && e.code === 'export_failed' && /t2s_decoder\.onnx/.test(e.message));
    assert.equal(files.files.size, 0);
    assert.equal(existsSync(join(scratch, 'gpt-sovits-train')), false);
    await backend.close();
  });

  it('revocation mid-training kills the whole process group and deletes the work folder', async () => {
    const pidFile = join(rig.root, 'pids-revoke');
    const controller = new AbortController();
    const { ctx, files, scratch } = rig.context(controller.signal);
    const backend = rig.backend({ env: { STANDIN_FAULT: 'hang:s2:2', STANDIN_PIDFILE: pidFile } });
    const job = backend.fineTune(ctx);
    while (!existsSync(pidFile) || (await readFile(pidFile, 'utf8')).trim().split('\n').length < 2) await new Promise((r) => setTimeout(r, 20));
    const pids = (await readFile(pidFile, 'utf8')).trim().split('\n').map(Number);
    assert.ok(pids.every(alive));
    const revoked = new Error('consent revoked');
    const t0 = performance.now();
    controller.abort(revoked);
    await assert.rejects(job, (e: unknown) => e === revoked);
    assert.ok(performance.now() - t0 < 3_000, 'stopped within the kill grace');
    // The trainer ignores SIGTERM and has a grandchild: both must be gone.
    await new Promise((r) => setTimeout(r, 100));
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived`);
    assert.equal(existsSync(join(scratch, 'gpt-sovits-train')), false);
    assert.equal(files.files.size, 0);
    await backend.close();
  });

  it('v2 by configuration: s2.json, v2 pretrained models, no speaker-embedding step', async () => {
    const record = join(rig.root, 'record-v2.jsonl');
    const backend = rig.backend({ version: 'v2', heldOutSentences: 0, env: { STANDIN_RECORD: record } });
    const { ctx, files } = rig.context();
    await backend.fineTune(ctx);
    for (const name of GRAPHS) assert.ok(files.files.has(name), name);
    const calls = await records(record);
    assert.equal(
      calls.some((c) => c.script === '2-get-sv.py'),
      false,
    );
    const s2 = calls.find((c) => c.script === 's2_train.py');
    assert.equal(s2?.config?.['version'], 'v2');
    assert.equal(s2?.config?.['gin_channels'], 512);
    assert.equal(s2?.config?.['pretrained_s2G'], join(rig.home, 'GPT_SoVITS', 'pretrained_models', 'gsv-v2final-pretrained', 's2G2333k.pth'));
    const s1 = calls.find((c) => c.script === 's1_train.py');
    assert.match(String(s1?.config?.['pretrained_s1']), /gsv-v2final-pretrained\/s1bert25hz-5kh-longer-epoch=12-step=369668\.ckpt$/);
    await backend.close();
  });

  it('missing pretrained models are named before any work, and nothing is downloaded', async () => {
    const record = join(rig.root, 'record-missing.jsonl');
    const backend = rig.backend({ pretrainedDir: join(rig.root, 'no-pretrained'), env: { STANDIN_RECORD: record } });
    const { ctx, files } = rig.context();
    await assert.rejects(
      backend.fineTune(ctx),
      (e: unknown) =>
        e instanceof BackendError &&
        e.code === 'model_missing' &&
        /s2Gv2ProPlus\.pth/.test(e.message) &&
        /pretrained_eres2netv2w24s4ep4\.ckpt/.test(e.message) &&
        /does not download/.test(e.message),
    );
    assert.equal(existsSync(record), false, 'no upstream process started');
    assert.equal(files.files.size, 0);
    await backend.close();
  });

  it('without GPT_SOVITS_HOME fine-tuning is still not supported', async () => {
    const { createGptSovitsBackend } = await import('../../../src/engine/backends/gpt-sovits/gpt-sovits-backend.ts');
    const backend = createGptSovitsBackend({ modelsDir: rig.models });
    await assert.rejects(backend.fineTune(rig.context().ctx), (e: unknown) => e instanceof BackendError && e.code === 'not_supported');
  });
});

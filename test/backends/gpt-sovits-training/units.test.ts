/** The driver's pure parts: alignment, log parsing, YAML subset, selection, failure hints, GPU lock, dataset. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { alignSentences } from '../../../src/engine/backends/gpt-sovits/training/segment-sentences.ts';
import { buildDataset } from '../../../src/engine/backends/gpt-sovits/training/dataset.ts';
import { acquireGpu } from '../../../src/engine/backends/gpt-sovits/training/gpu-lock.ts';
import { requiredPretrained, upstreamPaths, workLayout } from '../../../src/engine/backends/gpt-sovits/training/layout.ts';
import { parseS1Line, parseS2Line } from '../../../src/engine/backends/gpt-sovits/training/log-parsers.ts';
import { batchSizeFor, resolveTrainingOptions } from '../../../src/engine/backends/gpt-sovits/training/options.ts';
import { FailureScanner } from '../../../src/engine/backends/gpt-sovits/training/process-runner.ts';
import { CheckpointSelector } from '../../../src/engine/backends/gpt-sovits/training/selection.ts';
import { emitSimpleYaml, parseSimpleYaml } from '../../../src/engine/backends/gpt-sovits/training/simple-yaml.ts';
import { SCRIPT, sampleSource } from '../gpt-sovits/helpers.ts';

describe('script-to-segment alignment', () => {
  it('maps one sentence per segment when the durations follow the text', () => {
    const sentences = ['a b c d', 'e f g h i j k l', 'm n o p'];
    assert.deepEqual(
      alignSentences([1, 2, 1], sentences).map((a) => a.sentences),
      [[0], [1], [2]],
    );
  });
  it('puts two sentences read without a pause into one segment', () => {
    const sentences = ['aaaa', 'bbbb', 'cccc', 'dddd'];
    assert.deepEqual(
      alignSentences([1, 2, 1], sentences).map((a) => a.sentences),
      [[0], [1, 2], [3]],
    );
  });
  it('drops a short extra segment (a cough) rather than splitting text', () => {
    const out = alignSentences([2, 0.1, 2], ['aaaaaaaa', 'bbbbbbbb']);
    assert.deepEqual(
      out.map((a) => [a.segment, a.sentences]),
      [
        [0, [0]],
        [2, [1]],
      ],
    );
  });
});

describe('trainer log parsers (upstream formats)', () => {
  it('reads s2_train.py logging lines', () => {
    assert.deepEqual(parseS2Line('INFO:vocalis:Train Epoch: 3 [42%]'), { type: 'epoch_progress', epoch: 3, fraction: 0.42 });
    assert.deepEqual(parseS2Line('INFO:vocalis:saving ckpt vocalis_e3:Success.'), { type: 'checkpoint_saved', epoch: 3 });
    assert.deepEqual(parseS2Line('INFO:vocalis:====> Epoch: 3'), { type: 'epoch_done', epoch: 3 });
    const loss = parseS2Line('INFO:vocalis:[2.5, 2.0, 8.0, 19.0, 0.5, 1.5, 1200, 9.9e-05]');
    assert.equal(loss?.type, 'loss');
    assert.ok(loss?.type === 'loss' && Math.abs(loss.loss - 31) < 1e-9);
    assert.equal(parseS2Line('Epoch 3: something else'), null);
  });
  it('reads Lightning progress of s1_train.py (epochs from 0)', () => {
    const events = parseS1Line('Epoch 2:  57%|█████▋    | 4/7 [00:02<00:01, 2.1it/s, v_num=0, total_loss_step=312.5, lr_step=0.002]');
    assert.deepEqual(events, [
      { type: 'epoch_progress', epoch: 3, fraction: 0.57 },
      { type: 'loss', loss: 312.5 },
    ]);
  });
});

describe('s1 config YAML subset', () => {
  it('round-trips upstream-shaped YAML and refuses lists', () => {
    const doc = parseSimpleYaml('train:\n  epochs: 20\n  precision: 16-mixed\ndata:\n  pad_val: 1024 # EOS\npretrained_s1: "a b.ckpt"\n');
    assert.deepEqual(doc, { train: { epochs: 20, precision: '16-mixed' }, data: { pad_val: 1024 }, pretrained_s1: 'a b.ckpt' });
    assert.deepEqual(parseSimpleYaml(emitSimpleYaml({ ...doc, output_dir: '/tmp/x=1/logs', flag: 'true' })), {
      ...doc,
      output_dir: '/tmp/x=1/logs',
      flag: 'true',
    });
    assert.throws(() => parseSimpleYaml('train:\n  - 1\n'), /unsupported YAML/);
  });
});

describe('model versions', () => {
  it("picks upstream's configs and pretrained files per version (config.py, webui.py), v2ProPlus by default", () => {
    const o = resolveTrainingOptions({ home: '/gsv' });
    assert.equal(o.version, 'v2ProPlus');
    assert.equal(o.pretrainedDir, '/gsv/GPT_SoVITS/pretrained_models');
    assert.match(o.manifestPath, /models\/gpt-sovits-v2pro-kv\.manifest\.json$/);
    assert.match(resolveTrainingOptions({ home: '/gsv', version: 'v2' }).manifestPath, /models\/gpt-sovits-v2-kv\.manifest\.json$/);
    const pro = upstreamPaths('/gsv', '/pre', 'v2Pro');
    assert.equal(pro.s2Config, '/gsv/GPT_SoVITS/configs/s2v2Pro.json');
    assert.equal(pro.pretrainedS2G, '/pre/v2Pro/s2Gv2Pro.pth');
    assert.equal(pro.pretrainedS2D, '/pre/v2Pro/s2Dv2Pro.pth');
    assert.equal(pro.pretrainedS1, '/pre/s1v3.ckpt');
    assert.ok(requiredPretrained(pro, 'v2Pro').includes('/pre/sv/pretrained_eres2netv2w24s4ep4.ckpt'));
    const v2 = upstreamPaths('/gsv', '/pre', 'v2');
    assert.equal(v2.s2Config, '/gsv/GPT_SoVITS/configs/s2.json');
    assert.equal(v2.pretrainedS2G, '/pre/gsv-v2final-pretrained/s2G2333k.pth');
    assert.equal(
      requiredPretrained(v2, 'v2').some((p) => p.includes('/sv/')),
      false,
    );
    assert.equal(workLayout('/w', 'v2ProPlus').s2LogDir, '/w/exp/logs_s2_v2ProPlus');
    assert.throws(() => resolveTrainingOptions({ home: '/gsv', version: 'v4' as 'v2' }), /version must be one of v2, v2Pro, v2ProPlus/);
  });
});

describe('checkpoint selection', () => {
  it('keeps the best epoch and stops after `patience` epochs without improvement', () => {
    const s = new CheckpointSelector<string>(2, 0.05);
    assert.equal(s.add({ epoch: 1, score: 10, item: 'e1' }), true);
    assert.equal(s.add({ epoch: 2, score: 8, item: 'e2' }), true);
    assert.equal(s.add({ epoch: 3, score: 7.99, item: 'e3' }), false); // below the minimum improvement
    assert.equal(s.shouldStop(), false);
    assert.equal(s.add({ epoch: 4, score: NaN, item: 'e4' }), false);
    assert.equal(s.shouldStop(), true);
    assert.equal(s.best?.item, 'e2');
  });
});

describe('failure hints and batch size', () => {
  it('classifies output without keeping it', () => {
    const scan = new FailureScanner();
    scan.see('Traceback (most recent call last):');
    scan.see('KeyError: the quick brown fox');
    assert.deepEqual(scan.hint, { code: 'trainer_crashed', reason: 'KeyError' });
    scan.see('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB');
    assert.equal(scan.hint?.code, 'gpu_out_of_memory');
    scan.see('OSError: [Errno 28] No space left on device');
    scan.see('ValueError: later');
    assert.equal(scan.hint?.code, 'disk_full');
  });
  it('derives the batch size from GPU memory as the WebUI does', () => {
    assert.equal(batchSizeFor(24_576, true), 12);
    assert.equal(batchSizeFor(24_576, false), 6);
    assert.equal(batchSizeFor(null, true), 2);
  });
});

describe('GPU slot lock', () => {
  it('one training per GPU: the second waits with its position, takes over a dead owner', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vocalis-gpu-'));
    try {
      const signal = new AbortController().signal;
      const first = await acquireGpu(dir, '0', 1, signal, () => {}, 20);
      const positions: number[] = [];
      let got = false;
      const second = acquireGpu(dir, '0', 1, signal, (p) => positions.push(p), 20).then((l) => {
        got = true;
        return l;
      });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(got, false);
      assert.deepEqual(positions, [1]);
      await first.release();
      await (await second).release();
      // A lock left by a crashed worker (dead pid) is taken over.
      await writeFile(join(dir, 'gpu-0-0.lock'), '999999');
      const third = await acquireGpu(dir, '0', 1, signal, () => {}, 20);
      assert.equal((await readFile(join(dir, 'gpu-0-0.lock'), 'utf8')).trim(), String(process.pid));
      await third.release();
      // A waiting job leaves the line when its job is cancelled.
      const held = await acquireGpu(dir, '0', 1, signal, () => {}, 20);
      const controller = new AbortController();
      const waiting = acquireGpu(dir, '0', 1, controller.signal, () => {}, 20);
      controller.abort(new Error('revoked'));
      await assert.rejects(waiting, /revoked/);
      await held.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('dataset', () => {
  it('writes path|speaker|lang|text with 32 kHz WAVs, without the consent statement or held-out sentences', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vocalis-ds-'));
    try {
      const work = workLayout(dir, 'v2ProPlus');
      const ds = await buildDataset(sampleSource({ f0: 140, level: 0.3 }, SCRIPT), work, 2, new AbortController().signal);
      const lines = (await readFile(work.listFile, 'utf8')).trim().split('\n');
      assert.equal(lines.length, ds.trainItems);
      assert.equal(ds.heldOut.length, 2);
      const texts = lines.map((l) => l.split('|'));
      for (const [path, speaker, lang, text] of texts) {
        assert.match(path!, /seg_\d{3}\.wav$/);
        assert.equal(speaker, 'vocalis');
        assert.equal(lang, 'en');
        assert.ok(text && text.length > 0);
        const wav = await readFile(path!);
        assert.equal(wav.readUInt32LE(24), 32_000);
      }
      const trained = texts.map((t) => t[3]).join(' ');
      assert.ok(!trained.includes(SCRIPT.sentences[0]!), 'consent statement not trained on');
      for (const h of ds.heldOut) assert.ok(!trained.includes(h.text), 'held-out sentence kept out of training');
      assert.equal(ds.heldOut.at(-1)?.text, SCRIPT.sentences.at(-1));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** `models check` and `models fetch` against fixture directories and a local HTTP server. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { checkModels, fetchModels, loadManifest, manifestPathFor } from '../../../src/engine/backends/gpt-sovits/index.ts';
import type { Manifest } from '../../../src/engine/backends/gpt-sovits/index.ts';
import { ModelFetchError } from '../../../src/engine/backends/gpt-sovits/models-fetch.ts';
import { DataType, encodeModel } from './fixtures/onnx-writer.ts';
import { kvDecoder, sdec, vits } from './fixtures/fixture-graphs.ts';
import { fixtureDir } from './helpers.ts';

const MANIFEST = new URL('../../../models/gpt-sovits-v2.manifest.json', import.meta.url).pathname;

describe('models check', () => {
  let models: { dir: string; cleanup: () => Promise<void> };
  let manifest: Manifest;
  beforeAll(async () => {
    models = await fixtureDir({ withBert: true, layout: 'legacy' });
    manifest = await loadManifest(MANIFEST);
  });
  afterAll(() => models.cleanup());

  it('accepts the fixture graphs (the builder keeps to the upstream signatures)', async () => {
    assert.deepEqual(await checkModels(models.dir, manifest), []);
  });

  it('names a renamed input, a wrong dtype and a wrong rank', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vocalis-gsv-check-'));
    try {
      const { cp } = await import('node:fs/promises');
      await cp(models.dir, dir, { recursive: true });
      const graph = sdec();
      await writeFile(
        join(dir, 't2s_sdec.onnx'),
        encodeModel({
          ...graph,
          inputs: graph.inputs.map((i) => (i.name === 'iy' ? { ...i, name: 'input_y' } : i)),
          nodes: graph.nodes.map((n) => ({ ...n, inputs: n.inputs.map((x) => (x === 'iy' ? 'input_y' : x)) })),
        }),
      );
      const v = vits();
      await writeFile(
        join(dir, 'vits.onnx'),
        encodeModel({
          ...v,
          inputs: v.inputs.map((i) =>
            i.name === 'ref_audio' ? { ...i, shape: [1, 1, 'audio_length'] } : i.name === 'text_seq' ? { ...i, type: DataType.INT32 } : i,
          ),
        }),
      );
      const problems = await checkModels(dir, manifest);
      assert.ok(
        problems.some((p) => p.file === 't2s_sdec.onnx' && /missing input "iy"/.test(p.problem)),
        JSON.stringify(problems),
      );
      assert.ok(problems.some((p) => p.file === 't2s_sdec.onnx' && /unexpected input "input_y"/.test(p.problem)));
      assert.ok(
        problems.some((p) => p.file === 'vits.onnx' && /input "ref_audio" has rank 3, expected 2/.test(p.problem)),
        JSON.stringify(problems),
      );
      assert.ok(problems.some((p) => p.file === 'vits.onnx' && /input "text_seq" has type int32, expected int64/.test(p.problem)));
      await writeFile(join(dir, 'cnhubert.onnx'), new Uint8Array([8, 1, 2, 3]));
      await rm(join(dir, 't2s_fsdec.onnx'));
      const more = await checkModels(dir, manifest);
      assert.ok(more.some((p) => p.file === 'cnhubert.onnx' && /not a loadable ONNX model/.test(p.problem)));
      assert.ok(more.some((p) => p.file === 't2s_fsdec.onnx' && /missing/.test(p.problem)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('checks SHA-256 when the manifest has one', async () => {
    const withSums: Manifest = {
      ...manifest,
      files: manifest.files.map((f) => (f.name === 'vits.onnx' ? { ...f, sha256: '0'.repeat(64) } : f)),
    };
    const problems = await checkModels(models.dir, withSums);
    assert.ok(problems.some((p) => p.file === 'vits.onnx' && /SHA-256/.test(p.problem)));
  });
});

describe('models check: Vocalis export layouts (v2, v2Pro/v2ProPlus)', () => {
  it('picks the manifest for the graphs a directory has and accepts the fixtures', async () => {
    for (const pro of [false, true]) {
      const d = await fixtureDir({ withBert: true, pro });
      try {
        const path = manifestPathFor(d.dir);
        assert.match(path, pro ? /gpt-sovits-v2pro-kv\.manifest\.json$/ : /gpt-sovits-v2-kv\.manifest\.json$/);
        assert.deepEqual(await checkModels(d.dir, await loadManifest(path)), []);
      } finally {
        await d.cleanup();
      }
    }
    const legacy = await fixtureDir({ layout: 'legacy' });
    assert.match(manifestPathFor(legacy.dir), /gpt-sovits-v2\.manifest\.json$/);
    await legacy.cleanup();
  });

  it('prefers the manifest the export wrote into the directory', async () => {
    const d = await fixtureDir({});
    try {
      await writeFile(
        join(d.dir, 'manifest.json'),
        JSON.stringify({ name: 'x', version: 'v2ProPlus', files: [{ name: 'vits.onnx', required: true, sha256: '0'.repeat(64), url: null, description: '' }] }),
      );
      assert.equal(manifestPathFor(d.dir), join(d.dir, 'manifest.json'));
      const problems = await checkModels(d.dir, await loadManifest(manifestPathFor(d.dir)));
      assert.ok(problems.some((p) => p.file === 'vits.onnx' && /SHA-256/.test(p.problem)));
    } finally {
      await d.cleanup();
    }
  });

  it('accepts a vits graph from before speed/noise_scale were inputs, and checks them when present', async () => {
    const d = await fixtureDir({ layers: 3 });
    try {
      await writeFile(join(d.dir, 'vits.onnx'), encodeModel(vits({ tunable: false })));
      assert.deepEqual(await checkModels(d.dir, await loadManifest(manifestPathFor(d.dir))), []);
      const v = vits();
      await writeFile(join(d.dir, 'vits.onnx'), encodeModel({ ...v, inputs: v.inputs.map((i) => (i.name === 'noise_scale' ? { ...i, shape: [1, 1] } : i)) }));
      const problems = await checkModels(d.dir, await loadManifest(manifestPathFor(d.dir)));
      assert.ok(
        problems.some((p) => p.file === 'vits.onnx' && /input "noise_scale" has rank 2, expected 1/.test(p.problem)),
        JSON.stringify(problems),
      );
    } finally {
      await d.cleanup();
    }
  });

  it('names a layer missing from the per-layer cache inputs, and a Pro vits without sv_emb', async () => {
    const d = await fixtureDir({ pro: true, layers: 3 });
    try {
      const graph = kvDecoder({ layers: 3 });
      await writeFile(
        join(d.dir, 't2s_decoder.onnx'),
        encodeModel({
          ...graph,
          inputs: graph.inputs.map((i) => (i.name === 'k_cache_1' ? { ...i, name: 'k_cache_one' } : i)),
          nodes: graph.nodes.map((n) => ({ ...n, inputs: n.inputs.map((x) => (x === 'k_cache_1' ? 'k_cache_one' : x)) })),
        }),
      );
      await writeFile(join(d.dir, 'vits.onnx'), encodeModel(vits()));
      const problems = await checkModels(d.dir, await loadManifest(manifestPathFor(d.dir)));
      assert.ok(
        problems.some((p) => p.file === 't2s_decoder.onnx' && /missing input "k_cache_1"/.test(p.problem)),
        JSON.stringify(problems),
      );
      assert.ok(
        problems.some((p) => p.file === 'vits.onnx' && /missing input "sv_emb"/.test(p.problem)),
        JSON.stringify(problems),
      );
    } finally {
      await d.cleanup();
    }
  });
});

describe('models fetch', () => {
  let models: { dir: string; cleanup: () => Promise<void> };
  let server: ReturnType<typeof createServer>;
  let baseUrl = '';
  let manifest: Manifest;
  beforeAll(async () => {
    models = await fixtureDir({ layout: 'legacy' });
    const base = await loadManifest(MANIFEST);
    const sums = new Map<string, string>();
    for (const f of base.files) {
      const bytes = await readFile(join(models.dir, f.name)).catch(() => null);
      if (bytes) sums.set(f.name, createHash('sha256').update(bytes).digest('hex'));
    }
    manifest = { ...base, files: base.files.map((f) => ({ ...f, sha256: sums.get(f.name) ?? null })) };
    server = createServer((req, res) => {
      const name = (req.url ?? '').replace(/^\/models\//, '');
      readFile(join(models.dir, name)).then(
        (bytes) => res.end(name === 'corrupt.onnx' ? bytes.subarray(1) : bytes),
        () => {
          res.statusCode = 404;
          res.end();
        },
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/`;
  });
  afterAll(async () => {
    server.close();
    await models.cleanup();
  });

  it('downloads, verifies and installs every required file; a second run changes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vocalis-gsv-fetch-'));
    try {
      const report = await fetchModels(manifest, dir, { baseUrl });
      assert.deepEqual(report.downloaded.sort(), ['cnhubert.onnx', 't2s_encoder.onnx', 't2s_fsdec.onnx', 't2s_sdec.onnx', 'vits.onnx']);
      assert.deepEqual(await checkModels(dir, manifest), []);
      const again = await fetchModels(manifest, dir, { baseUrl });
      assert.equal(again.downloaded.length, 0);
      assert.equal(again.unchanged.length, 5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file with the wrong checksum and leaves nothing behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vocalis-gsv-fetch-'));
    try {
      const bad: Manifest = { ...manifest, files: manifest.files.map((f) => (f.name === 'vits.onnx' ? { ...f, sha256: 'f'.repeat(64) } : f)) };
      await assert.rejects(
        fetchModels(bad, dir, { baseUrl }),
        (e: unknown) => e instanceof ModelFetchError && e.file === 'vits.onnx' && /checksum/.test(e.message),
      );
      const left = await readdir(dir);
      assert.ok(!left.includes('vits.onnx') && !left.some((n) => n.endsWith('.partial')), left.join(','));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports HTTP errors and files with no source', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vocalis-gsv-fetch-'));
    try {
      const missing: Manifest = { ...manifest, files: [{ ...manifest.files[0]!, name: 'absent.onnx', sha256: null }] };
      await assert.rejects(fetchModels(missing, dir, { baseUrl }), /absent\.onnx: download failed: HTTP 404/);
      const report = await fetchModels(manifest, dir, {});
      assert.equal(report.noSource.length, 5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

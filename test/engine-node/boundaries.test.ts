import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const IMPORT = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
const NETWORK = /^(node:)?(http|http2|https|net|tls|dgram)$|^ioredis$|engine-node\//;

function importsUnder(dir: string): Array<{ file: string; target: string }> {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .flatMap((e) => {
      const file = relative(ROOT, join(e.parentPath, e.name));
      return [...readFileSync(join(ROOT, file), 'utf8').matchAll(IMPORT)].map((m) => ({ file, target: m[1]! }));
    });
}

test('the core, consent and the engine hold no network code: engine nodes are plugged in by src/app through the SpeechSynthesis port', () => {
  const all = ['src/core', 'src/consent', 'src/engine'].flatMap(importsUnder);
  assert.ok(all.length > 200, 'the scan sees the imports');
  assert.deepEqual(
    all.filter((i) => NETWORK.test(i.target)).map((i) => `${i.file} → ${i.target}`),
    [],
  );
  // And the other way round: engine-node is wired only by src/app.
  const users = ['src/core', 'src/consent', 'src/engine', 'src/storage', 'src/bots', 'src/cli', 'src/jobs']
    .flatMap(importsUnder)
    .filter((i) => i.target.includes('engine-node/'));
  assert.deepEqual(users, []);
});

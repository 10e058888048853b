import { test } from 'vitest';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

const base = { DISCORD_TOKEN: 'token' };

test('DISCORD_SHARDS: unset keeps the adapter in the service; auto or a count selects shard processes', () => {
  assert.equal(loadConfig(base).discord?.shards, undefined);
  assert.equal(loadConfig({ ...base, DISCORD_SHARDS: '' }).discord?.shards, undefined);
  assert.equal(loadConfig({ ...base, DISCORD_SHARDS: 'auto' }).discord?.shards, 'auto');
  assert.equal(loadConfig({ ...base, DISCORD_SHARDS: '4' }).discord?.shards, 4);
});

test('DISCORD_SHARDS: anything else is refused, naming the variable', () => {
  for (const value of ['0', '-1', '2.5', 'many', '5000']) {
    assert.throws(
      () => loadConfig({ ...base, DISCORD_SHARDS: value }),
      (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.startsWith('DISCORD_SHARDS:')),
      value,
    );
  }
});

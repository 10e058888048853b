import { test } from 'vitest';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { readFileSync } from 'node:fs';

test('no environment at all gives working defaults', () => {
  const config = loadConfig({}, '/srv/vocalis');
  assert.equal(config.dataDir, '/srv/vocalis/data');
  assert.equal(config.backend, 'classic');
  assert.equal(config.runWorker, true);
  assert.equal(config.discord, undefined);
  assert.equal(config.telegram, undefined);
  assert.equal(config.redisUrl, undefined);
  assert.equal(config.retention.rawSampleDays, 7);
  assert.equal(config.retention.voiceInactivityDays, 365);
});

test('every invalid variable is reported at once, without its value', () => {
  const secret = 'not-a-url-but-secret-ish';
  try {
    loadConfig({ VOCALIS_HTTP_PORT: '99999', REDIS_URL: secret, VOCALIS_LOG_LEVEL: 'loud', VOCALIS_RUN_WORKER: 'maybe' });
    assert.fail('expected a ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems.length, 4);
    for (const name of ['VOCALIS_HTTP_PORT', 'REDIS_URL', 'VOCALIS_LOG_LEVEL', 'VOCALIS_RUN_WORKER']) assert.match(error.message, new RegExp(name));
    assert.doesNotMatch(error.message, new RegExp(secret));
  }
});

test('a platform adapter is configured only when its token is set; empty values count as unset', () => {
  const config = loadConfig({ DISCORD_TOKEN: 'abc', TELEGRAM_TOKEN: '', TELEGRAM_OPERATOR_IDS: '1, 2' });
  assert.equal(config.discord?.token, 'abc');
  assert.equal(config.telegram, undefined);
  assert.deepEqual(loadConfig({ TELEGRAM_TOKEN: 't', TELEGRAM_OPERATOR_IDS: '1, 2' }).telegram?.operatorIds, ['1', '2']);
});

test('.env.example documents every variable the schema reads', () => {
  const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
  const source = readFileSync(new URL('../../src/config/config.ts', import.meta.url), 'utf8');
  const names = [...source.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]);
  assert.ok(names.length > 15);
  for (const name of names) assert.match(example, new RegExp(`^${name}=`, 'm'), `${name} missing from .env.example`);
});

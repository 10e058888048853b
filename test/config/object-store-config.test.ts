import { test } from 'vitest';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

test('no VOCALIS_S3_BUCKET: files stay in the data directory', () => {
  assert.equal(loadConfig({}, '/srv/vocalis').objectStore, undefined);
  assert.equal(loadConfig({ VOCALIS_S3_ENDPOINT: 'http://127.0.0.1:9000' }, '/srv/vocalis').objectStore, undefined);
});

test('a bucket with an S3-compatible endpoint, and AWS S3 with a region', () => {
  assert.deepEqual(loadConfig({ VOCALIS_S3_BUCKET: 'vocalis-voices', VOCALIS_S3_ENDPOINT: 'http://10.0.0.10:8333' }).objectStore, {
    bucket: 'vocalis-voices',
    endpoint: 'http://10.0.0.10:8333',
    region: 'us-east-1',
  });
  assert.deepEqual(loadConfig({ VOCALIS_S3_BUCKET: 'vocalis.voices', VOCALIS_S3_REGION: 'eu-central-1' }).objectStore, {
    bucket: 'vocalis.voices',
    endpoint: undefined,
    region: 'eu-central-1',
  });
});

test('a bad bucket name, credentials in the endpoint URL and a bad region are refused without echoing them', () => {
  const secret = 'hunter2-secret-key';
  try {
    loadConfig({ VOCALIS_S3_BUCKET: 'Bad_Bucket', VOCALIS_S3_ENDPOINT: `http://AKIA:${secret}@10.0.0.10:9000`, VOCALIS_S3_REGION: 'EU WEST' });
    assert.fail('expected a ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    for (const name of ['VOCALIS_S3_BUCKET', 'VOCALIS_S3_ENDPOINT', 'VOCALIS_S3_REGION']) assert.match(error.message, new RegExp(name));
    assert.doesNotMatch(error.message, new RegExp(secret));
  }
});

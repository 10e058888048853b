import { test } from 'vitest';
import assert from 'node:assert/strict';
import { BackendRegistry, UnknownBackendError } from '../src/engine/registry.ts';

test('registry refuses an unknown default backend', () => {
  assert.throws(() => new BackendRegistry([], 'classic'), /default backend "classic" is not available/);
  assert.ok(new UnknownBackendError('x', ['a']).message.includes('available: a'));
});

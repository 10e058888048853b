import { test } from 'vitest';
import assert from 'node:assert/strict';
import { startHarness } from './harness.ts';

/**
 * A stop with Discord already gone (gateway, REST and voice servers unreachable, as in an
 * outage or when the network drops before the stop signal): the adapter still stops
 * promptly instead of waiting on reconnects or REST calls that cannot succeed.
 */
test('the Discord adapter stops promptly when the gateway and REST are already gone', async () => {
  const h = await startHarness();
  try {
    await h.discord.close();
    const at = performance.now();
    await h.adapter.stop();
    const ms = performance.now() - at;
    assert.ok(ms < 3000, `stopped ${ms.toFixed(0)} ms after Discord went away`);
  } finally {
    await h.fixture.close();
  }
});

import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { Broadcast, CancelChannel, type CancelMessage } from '../../src/jobs/cancel-channel.ts';
import { startTestRedis, type TestRedis } from '../support/redis-server.ts';
import { eventually, sleep } from './support.ts';

interface Revoked {
  userId: string;
}

function parseRevoked(value: unknown): Revoked {
  if (typeof value === 'object' && value !== null && typeof (value as { userId?: unknown }).userId === 'string') {
    return { userId: (value as { userId: string }).userId };
  }
  throw new Error('not a revocation');
}

describe('Broadcast over Redis pub/sub', () => {
  let server: TestRedis;
  beforeAll(async () => {
    server = await startTestRedis();
  });
  afterAll(async () => {
    await server.cleanup();
  });

  it('delivers JSON messages to every subscriber (one per process) well within a second', async () => {
    const channel = 'vocalis:test:consent-revoked';
    const sender = new Broadcast<Revoked>({ url: server.url, channel, parse: parseRevoked });
    const a = new Broadcast<Revoked>({ url: server.url, channel, parse: parseRevoked });
    const b = new Broadcast<Revoked>({ url: server.url, channel, parse: parseRevoked });
    const got: Array<{ who: string; userId: string; ms: number }> = [];
    try {
      const sentAt = Date.now();
      await a.subscribe((m) => got.push({ who: 'a', userId: m.userId, ms: Date.now() - sentAt }));
      const stopB = await b.subscribe((m) => got.push({ who: 'b', userId: m.userId, ms: Date.now() - sentAt }));
      const publishedAt = Date.now();
      assert.equal(await sender.publish({ userId: 'u_1' }), 2);
      await eventually(() => got.length === 2, 1000, 'both deliveries');
      assert.deepEqual(got.map((g) => `${g.who}:${g.userId}`).sort(), ['a:u_1', 'b:u_1']);
      assert.ok(Date.now() - publishedAt < 1000);
      stopB();
      await sender.publish({ userId: 'u_2' });
      await eventually(() => got.length === 3, 1000, 'delivery to a');
      await sleep(50);
      assert.deepEqual(got.map((g) => `${g.who}:${g.userId}`).slice(2), ['a:u_2']);
    } finally {
      await Promise.all([sender.close(), a.close(), b.close()]);
    }
  });

  it('drops messages that do not parse and reports them', async () => {
    const errors: unknown[] = [];
    const received: CancelMessage[] = [];
    const listener = new CancelChannel(server.url, (error) => errors.push(error));
    const raw = new Broadcast<unknown>({ url: server.url, channel: listener.channel });
    try {
      await listener.subscribe((m) => received.push(m));
      await raw.publish({ nonsense: true });
      await raw.publish({ voiceId: 'v_1', bullJobId: 'v_1.job_1' });
      await eventually(() => received.length === 1, 1000, 'valid message');
      assert.deepEqual(received, [{ voiceId: 'v_1', bullJobId: 'v_1.job_1' }]);
      assert.equal(errors.length, 1);
    } finally {
      await Promise.all([listener.close(), raw.close()]);
    }
  });
});

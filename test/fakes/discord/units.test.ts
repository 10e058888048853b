// Unit checks of the fake's own pieces (no discord.js involved).
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { analyzeFrames, type RecordedFrame } from './voice/frame-analysis.ts';
import { openOpusPacket, sealOpusPacket, SILENCE_FRAME } from './voice/rtp-crypto.ts';
import { discoveryResponse, isDiscoveryRequest } from './voice/ip-discovery.ts';
import { startFakeDiscord } from './index.ts';

test('rtpsize AES-GCM packets round-trip, with and without a header extension, and reject tampering', () => {
  const key = randomBytes(32);
  const opus = Buffer.from([0xfc, 1, 2, 3, 4, 5]);
  for (const extensionWords of [0, 1, 2]) {
    const packet = sealOpusPacket({ sequence: 65535, timestamp: 2 ** 32 - 1, ssrc: 1234 }, opus, key, 7, extensionWords);
    const opened = openOpusPacket(packet, key);
    assert.deepEqual(opened.opus, opus);
    assert.deepEqual([opened.sequence, opened.timestamp, opened.ssrc, opened.nonce], [65535, 2 ** 32 - 1, 1234, 7]);
  }
  const packet = sealOpusPacket({ sequence: 1, timestamp: 2, ssrc: 3 }, opus, key, 1);
  packet[2] = 9; // header is authenticated data
  assert.throws(() => openOpusPacket(packet, key));
});

test('IP discovery response carries address and port where @discordjs/voice reads them', () => {
  const response = discoveryResponse(42, '127.0.0.1', 50_123);
  assert.equal(response.length, 74);
  assert.equal(response.subarray(8, response.indexOf(0, 8)).toString(), '127.0.0.1');
  assert.equal(response.readUInt16BE(72), 50_123);
  assert.equal(isDiscoveryRequest(response), false);
});

test('frame analysis flags silence inside an utterance and sequence gaps, not trailing silence', () => {
  const audio = Buffer.from([0xfc, 0xff]);
  const frame = (i: number, opus: Buffer, seq = i): RecordedFrame => ({
    guildId: 'g',
    userId: 'u',
    ssrc: 1,
    sequence: seq,
    timestamp: i * 960,
    opus,
    e2ee: 'plain',
    arrivedAtNs: BigInt(i) * 20_000_000n,
  });
  const frames = [frame(0, audio), frame(1, SILENCE_FRAME), frame(2, audio), frame(3, audio, 10), frame(4, SILENCE_FRAME), frame(5, SILENCE_FRAME)];
  const stats = analyzeFrames(frames);
  assert.equal(stats.audioCount, 3);
  assert.equal(stats.silenceMidUtterance, 1);
  assert.equal(stats.sequenceGaps, 2);
  assert.equal(stats.timestampGaps, 0);
  assert.equal(stats.meanIntervalMs, 20);
});

test('REST refuses a wrong bot token and records unknown routes as 404', async () => {
  const discord = await startFakeDiscord();
  try {
    const unauthorized = await fetch(`${discord.restUrl}/v10/users/@me`, { headers: { authorization: 'Bot wrong' } });
    assert.equal(unauthorized.status, 401);
    const ok = await fetch(`${discord.restUrl}/v10/users/@me`, { headers: { authorization: `Bot ${discord.token}` } });
    assert.equal(((await ok.json()) as { id: string }).id, discord.botUserId);
    assert.equal(ok.headers.get('x-ratelimit-remaining'), '49');
    const missing = await fetch(`${discord.restUrl}/v10/guilds/1/bans`, { headers: { authorization: `Bot ${discord.token}` } });
    assert.equal(missing.status, 404);
    assert.deepEqual(
      discord.rest.unknownRoutes.map((r) => `${r.method} ${r.path}`),
      ['GET /guilds/1/bans'],
    );
  } finally {
    await discord.close();
  }
});

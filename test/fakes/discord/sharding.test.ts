// The fake gateway routes guilds by shard as Discord does, proven with two real discord.js
// clients, each one shard of two: `(guild_id >> 22) % count` decides which one sees a guild.
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { Client, Events, GatewayIntentBits, Partials, type Interaction, type Message } from 'discord.js';
import { WebSocket } from 'ws';
import { startFakeDiscord, shardOfGuild, type FakeDiscord, type FakeGuild } from './index.ts';

async function loginShard(discord: FakeDiscord, shardId: number, shardCount: number): Promise<Client<true>> {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages],
    partials: [Partials.Channel],
    rest: { api: discord.restUrl },
    shards: [shardId],
    shardCount,
  });
  const ready = new Promise<Client<true>>((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(discord.token);
  return ready;
}

describe('fake Discord gateway sharding', () => {
  let discord: FakeDiscord;
  let onShard0: FakeGuild;
  let onShard1: FakeGuild;
  const clients: Client<true>[] = [];

  beforeAll(async () => {
    discord = await startFakeDiscord({ recommendedShards: 2 });
    onShard0 = discord.addGuild({ shard: [0, 2] });
    onShard1 = discord.addGuild({ shard: [1, 2] });
    clients.push(await loginShard(discord, 0, 2), await loginShard(discord, 1, 2));
  });

  afterAll(async () => {
    for (const client of clients) await client.destroy();
    await discord.close();
  });

  test('GET /gateway/bot recommends the configured shard count', async () => {
    const response = await fetch(`${discord.restUrl}/v10/gateway/bot`, { headers: { authorization: `Bot ${discord.token}` } });
    const body = (await response.json()) as { shards: number; url: string };
    assert.equal(body.shards, 2);
  });

  test('each IDENTIFY carries its shard pair and each shard holds only its guilds', () => {
    const identifies = discord.gateway.received.entries.filter((f) => f.op === 2).map((f) => (f.d as { shard?: unknown }).shard);
    assert.deepEqual(identifies, [
      [0, 2],
      [1, 2],
    ]);
    assert.deepEqual(
      discord.gateway.sessions().map((s) => s.shard),
      [
        [0, 2],
        [1, 2],
      ],
    );
    assert.equal(shardOfGuild(onShard0.id, 2), 0);
    assert.equal(shardOfGuild(onShard1.id, 2), 1);
    const firstGuildShard = shardOfGuild(discord.guild.id, 2);
    for (const [shard, client] of clients.entries()) {
      const expected = [discord.guild.id, onShard0.id, onShard1.id].filter((id) => shardOfGuild(id, 2) === shard).sort();
      assert.deepEqual([...client.guilds.cache.keys()].sort(), expected, `shard ${shard}'s guilds`);
    }
    assert.ok(clients[firstGuildShard]!.guilds.cache.has(discord.guild.id));
  });

  test("a guild's interaction reaches only its shard; a DM goes to shard 0", async () => {
    const seen: Array<[number, string]> = [];
    const listeners = clients.map((client, shard) => {
      const listener = (i: Interaction) => seen.push([shard, i.guildId ?? '']);
      client.on(Events.InteractionCreate, listener);
      return listener;
    });
    const member = onShard1.addMember('bea');
    const interaction = onShard1.dispatchInteraction({ kind: 'slash', name: 'status', userId: member.id });
    const other = onShard0.addMember('ola');
    onShard0.dispatchInteraction({ kind: 'slash', name: 'status', userId: other.id });
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(
      seen.sort((a, b) => a[0] - b[0]),
      [
        [0, onShard0.id],
        [1, onShard1.id],
      ],
    );
    assert.equal(discord.interactions.byId.get(interaction.id)?.guildId, onShard1.id);
    for (const [shard, client] of clients.entries()) client.off(Events.InteractionCreate, listeners[shard]!);

    const dmSeen: number[] = [];
    for (const [shard, client] of clients.entries()) client.on(Events.MessageCreate, (_m: Message) => dmSeen.push(shard));
    const dm = discord.openDm(member.id);
    onShard1.dispatchMessage({ authorId: member.id, channelId: dm.id, content: 'hello' });
    for (let i = 0; i < 100 && dmSeen.length < 1; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(dmSeen, [0]);
  });

  test('a guild added later arrives as GUILD_CREATE on its shard only', async () => {
    const late = discord.addGuild({ shard: [1, 2] });
    for (let i = 0; i < 100 && !clients[1]!.guilds.cache.has(late.id); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(clients[1]!.guilds.cache.has(late.id));
    assert.ok(!clients[0]!.guilds.cache.has(late.id));
  });

  test('an IDENTIFY for a shard outside its count is refused with 4010', async () => {
    const socket = new WebSocket(`${discord.gateway.url}?v=10&encoding=json`);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.once('message', () => socket.send(JSON.stringify({ op: 2, d: { token: discord.token, intents: 1, properties: {}, shard: [2, 2] } })));
    assert.equal(await closed, 4010);
  });
});

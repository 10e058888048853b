// Real-looking snowflakes, so discord.js derives sane createdTimestamp values from fake ids.
const DISCORD_EPOCH = 1420070400000n;

let increment = 0n;

export function nextSnowflake(): string {
  increment = (increment + 1n) & 0xfffn;
  const millis = BigInt(Date.now()) - DISCORD_EPOCH;
  return ((millis << 22n) | (1n << 17n) | increment).toString();
}

/** An opaque random token, as Discord issues for interactions and voice servers. */
export function randomToken(prefix: string): string {
  return `${prefix}.${crypto.randomUUID().replaceAll('-', '')}`;
}

/**
 * The shard a guild's events go to, as Discord routes them: `(guild_id >> 22) % shard_count`
 * (the snowflake's timestamp, modulo the count).
 */
export function shardOfGuild(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** A fresh snowflake that lands on shard `shardId` of `shardCount` (its timestamp moved back by < count ms). */
export function snowflakeOnShard(shardId: number, shardCount: number): string {
  increment = (increment + 1n) & 0xfffn;
  const count = BigInt(shardCount);
  const now = BigInt(Date.now()) - DISCORD_EPOCH;
  const millis = now - ((now - BigInt(shardId) + count) % count);
  return ((millis << 22n) | (1n << 17n) | increment).toString();
}

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

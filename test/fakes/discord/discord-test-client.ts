// The real discord.js client, pointed at a fake Discord: what the bot's tests will do too.
import { Client, GatewayIntentBits, Events } from 'discord.js';
import type { FakeDiscord } from './index.ts';

export async function loginTestClient(discord: FakeDiscord): Promise<Client<true>> {
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildVoiceStates,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.DirectMessages,
      GatewayIntentBits.MessageContent,
    ],
    rest: { api: discord.restUrl },
  });
  const ready = new Promise<Client<true>>((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(discord.token);
  return ready;
}

// The real discord.js client, pointed at a fake Discord: what the bot's tests will do too.
import { Client, GatewayIntentBits, Events } from 'discord.js';
import type { FakeDiscord } from './index.ts';
import { entersState, joinVoiceChannel, type VoiceConnection, VoiceConnectionStatus } from '@discordjs/voice';

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

/** The test client joins the fake guild's voice channel: resolves once the connection is Ready and the voice session is up. */
export async function joinFakeVoiceChannel(discord: FakeDiscord, client: Client<true>): Promise<VoiceConnection> {
  const guild = client.guilds.cache.get(discord.guild.id)!;
  const connection = joinVoiceChannel({
    channelId: discord.guild.voiceChannelId,
    guildId: guild.id,
    adapterCreator: guild.voiceAdapterCreator,
    selfDeaf: false,
  });
  try {
    await entersState(connection, VoiceConnectionStatus.Ready, 10_000);
    await discord.voice.waitForSession();
  } catch (error) {
    connection.destroy();
    throw error;
  }
  return connection;
}

import {
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Partials,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
} from 'discord.js';
import type { Config } from '../../config/config.ts';
import { RateLimiter } from '../../core/rate-limiter.ts';
import { localeFrom, type Locale } from '../../i18n/catalogue.ts';
import type { Logger } from '../../observability/logger.ts';
import { failureCode } from './adapter-error.ts';
import { CloneFlow, DEFAULT_CLONE_TIMINGS, type CloneTimings } from './clone-flow.ts';
import { commandDefinitions } from './command-definitions.ts';
import { parseButtonId } from './consent-prompt.ts';
import type { QueueLimits } from './guild-speech-queue.ts';
import { JobNotifier } from './job-notifier.ts';
import { describeError, text } from './messages.ts';
import { SpeakCommands } from './speak-commands.ts';
import type { Utterance } from './utterance.ts';
import { VerifyCommand } from './verify-command.ts';
import { VoiceCommands } from './voice-commands.ts';
import type { DiscordVocalis } from './vocalis-port.ts';
import { VoiceLinks } from './voice-links.ts';

export interface DiscordAdapterOptions {
  readonly config: NonNullable<Config['discord']> & { readonly streamLeadMs: number };
  readonly vocalis: DiscordVocalis;
  readonly logger: Logger;
  /** REST base, for tests against a local fake Discord (`http://127.0.0.1:PORT/api`); else `config.apiRoot`, else Discord's. */
  readonly restApi?: string;
  /** Tuning for tests and benchmarks; production uses the defaults. */
  readonly tuning?: Partial<DiscordTuning>;
}

export interface DiscordTuning extends CloneTimings {
  readonly speakLimit: { readonly capacity: number; readonly perMinute: number };
  readonly queue: QueueLimits;
  /** How long the bot stays in a voice channel after the last use. */
  readonly idleLeaveMs: number;
  /** How long a voice join may take to become ready before it counts as failed. */
  readonly voiceReadyTimeoutMs: number;
  readonly jobWatchMs: number;
  /** Called when an utterance starts playing (benchmarks). */
  readonly onSpeechStarted?: (utterance: Utterance) => void;
}

const DEFAULT_TUNING: DiscordTuning = {
  ...DEFAULT_CLONE_TIMINGS,
  speakLimit: { capacity: 5, perMinute: 10 },
  queue: { perGuild: 20, perUser: 3 },
  idleLeaveMs: 60_000,
  voiceReadyTimeoutMs: 15_000,
  jobWatchMs: 1_000,
};

export interface DiscordAdapter {
  readonly name: 'discord';
  readonly client: Client;
  /** The clone flow, exposed for tests (its recording sessions). */
  readonly clone: CloneFlow;
  readonly speech: SpeakCommands;
  stop(): Promise<void>;
}

/**
 * The Discord adapter: logs in, registers the slash commands (per guild when a guild
 * id is configured, else globally), and translates interactions into core calls and
 * results into replies. Everything about consent, storage and synthesis is the core's.
 */
export async function startDiscordAdapter(options: DiscordAdapterOptions): Promise<DiscordAdapter> {
  const { config, vocalis } = options;
  const logger = options.logger.child({ adapter: 'discord' });
  const tuning: DiscordTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const restApi = options.restApi ?? config.apiRoot;
  // In a shard process the client takes its shard ids and count from the ShardingManager's environment.
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
    partials: [Partials.Channel],
    ...(restApi ? { rest: { api: restApi } } : {}),
  });

  const links = new VoiceLinks(logger, { idleLeaveMs: tuning.idleLeaveMs, readyTimeoutMs: tuning.voiceReadyTimeoutMs });
  const jobs = new JobNotifier(vocalis, logger, tuning.jobWatchMs);
  const clone = new CloneFlow({ vocalis, links, logger, jobs, timings: tuning });
  const speech = new SpeakCommands({
    vocalis,
    links,
    logger,
    limiter: new RateLimiter(tuning.speakLimit),
    leadFrames: Math.max(1, Math.round(config.streamLeadMs / 20)),
    adminRole: config.adminRole,
    limits: tuning.queue,
    ...(tuning.onSpeechStarted ? { onStarted: tuning.onSpeechStarted } : {}),
  });
  const verify = new VerifyCommand({ vocalis, client, logger });
  const voice = new VoiceCommands({
    vocalis,
    logger,
    adminRole: config.adminRole,
    onRevoked: (userId) => {
      clone.stopUser(userId);
      speech.stopOwner(userId);
    },
  });

  links.on('lost', (guildId, reason) => {
    logger.info({ guildId, reason }, 'voice connection lost; stopping recordings and speech');
    clone.connectionLost(guildId);
    speech.connectionLost(guildId);
  });
  client.on(Events.VoiceStateUpdate, (_old, state) => clone.onVoiceState(state));
  client.on(Events.MessageCreate, (message) => {
    if (!message.author.bot && message.inGuild()) clone.onMessage(message);
  });
  client.on(Events.InteractionCreate, (interaction) => void route(interaction));
  client.on(Events.Error, (error) => logger.warn({ err: error }, 'discord client error'));

  async function route(interaction: Interaction): Promise<void> {
    if (!interaction.isChatInputCommand() && !interaction.isButton()) return;
    const locale: Locale = localeFrom(interaction.locale);
    if (!interaction.inCachedGuild()) {
      if (interaction.isRepliable())
        await interaction.reply({ content: text(locale, 'discord.guild_only'), flags: MessageFlags.Ephemeral }).catch(() => undefined);
      return;
    }
    try {
      if (interaction.isChatInputCommand()) await command(interaction, locale);
      else await button(interaction);
    } catch (error) {
      logger.info({ guildId: interaction.guildId, userId: interaction.user.id, code: failureCode(error) }, 'request refused');
      const content = describeError(locale, error);
      // A deferred reply still shows "thinking…": the error replaces it.
      const reply =
        interaction.deferred && !interaction.replied
          ? interaction.editReply({ content })
          : interaction.replied
            ? interaction.followUp({ content, flags: MessageFlags.Ephemeral })
            : interaction.reply({ content, flags: MessageFlags.Ephemeral });
      await reply.catch((e: unknown) => logger.warn({ err: e }, 'could not send an error reply'));
    }
  }

  async function command(interaction: ChatInputCommandInteraction<'cached'>, locale: Locale): Promise<void> {
    logger.debug({ guildId: interaction.guildId, userId: interaction.user.id, command: interaction.commandName }, 'command');
    switch (interaction.commandName) {
      case 'clone':
        return clone.command(interaction, locale);
      case 'speak':
        return speech.speak(interaction, locale);
      case 'stop':
        return speech.stop(interaction, locale);
      case 'voice':
        return voice.voice(interaction, locale);
      case 'consent':
        return voice.consent(interaction, locale);
      case 'verify':
        return verify.verify(interaction, locale);
      default:
        // A stale registration (an old command in a member's client): answer rather than leave them waiting.
        logger.warn({ command: interaction.commandName }, 'unknown command');
        await interaction.reply({ content: text(locale, 'discord.unknown_command'), flags: MessageFlags.Ephemeral });
    }
  }

  async function button(interaction: ButtonInteraction<'cached'>): Promise<void> {
    const parsed = parseButtonId(interaction.customId);
    if (!parsed) return;
    if (parsed.action === 'agree') return clone.agree(interaction, parsed.id);
    if (parsed.action === 'cancel') return clone.cancel(interaction, parsed.id);
    return clone.stopButton(interaction, parsed.id);
  }

  const ready = new Promise<Client<true>>((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(config.token);
  const readyClient = await ready;
  const definitions = commandDefinitions({ adminRoleConfigured: config.adminRole !== undefined });
  // Commands are registered once per application: by the one shard that holds shard 0 (REST reaches any guild).
  const shardIds = readyClient.shard?.ids ?? null;
  const registers = shardIds === null || shardIds.includes(0);
  if (registers && config.guildId) await readyClient.application.commands.set(definitions, config.guildId);
  else if (registers) await readyClient.application.commands.set(definitions);
  const shard = shardIds ? { shards: shardIds, shardCount: readyClient.shard?.count, guilds: readyClient.guilds.cache.size, registered: registers } : {};
  logger.info({ ...shard, scope: config.guildId ? 'guild' : 'global', commands: definitions.length }, 'discord adapter ready');

  return {
    name: 'discord',
    client,
    clone,
    speech,
    async stop() {
      clone.close();
      speech.close();
      jobs.close();
      links.destroyAll();
      await client.destroy();
      logger.info('discord adapter stopped');
    },
  };
}

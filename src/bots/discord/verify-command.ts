import { MessageFlags, SlashCommandBuilder, type Attachment, type ChatInputCommandInteraction, type Client } from 'discord.js';
import type { Vocalis } from '../../core/vocalis.ts';
import type { Locale, MessageKey } from '../../i18n/catalogue.ts';
import { renderMarkCheck } from '../../i18n/mark-messages.ts';
import type { Logger } from '../../observability/logger.ts';
import { AdapterError } from './adapter-error.ts';
import { text } from './messages.ts';
import { downloadUpload } from './upload-download.ts';
import { PLATFORM } from './vocalis-port.ts';

/** `https://discord.com/channels/<guild>/<channel>/<message>` (also canary/ptb and discordapp.com). */
const MESSAGE_LINK = /^https:\/\/(?:(?:canary|ptb)\.)?discord(?:app)?\.com\/channels\/(\d+)\/(\d+)\/(\d+)\/?$/;

/** /verify [file] [message]: the command as registered, described from the catalogue. */
export function verifyCommandDefinition(
  describe: <B extends { setDescription(d: string): B; setDescriptionLocalizations(l: Record<string, string>): B }>(builder: B, key: MessageKey) => B,
): SlashCommandBuilder {
  const command = describe(new SlashCommandBuilder().setName('verify'), 'discord.cmd.verify').setDMPermission(false);
  command.addAttachmentOption((o) => describe(o.setName('file'), 'discord.cmd.verify.file'));
  command.addStringOption((o) => describe(o.setName('message'), 'discord.cmd.verify.message').setMaxLength(200));
  return command;
}

/**
 * /verify: looks for this deployment's mark in an attached file or in the audio of a
 * linked message of this server, and answers (only to the asker) whose synthetic
 * voice it is, or that no mark was found.
 */
export class VerifyCommand {
  readonly #vocalis: Pick<Vocalis, 'checkMark'>;
  readonly #client: Client;
  readonly #logger: Logger;

  constructor(deps: { vocalis: Pick<Vocalis, 'checkMark'>; client: Client; logger: Logger }) {
    this.#vocalis = deps.vocalis;
    this.#client = deps.client;
    this.#logger = deps.logger;
  }

  async verify(interaction: ChatInputCommandInteraction<'cached'>, locale: Locale): Promise<void> {
    const file = interaction.options.getAttachment('file');
    const link = interaction.options.getString('message');
    if (!file && !link) {
      await interaction.reply({ content: text(locale, 'mark.needs_audio'), flags: MessageFlags.Ephemeral });
      return;
    }
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const attachment = file ?? (await this.#linkedAudio(link ?? '', interaction.guildId));
    const audio = await downloadUpload({ url: attachment.url, size: attachment.size, contentType: attachment.contentType, name: attachment.name });
    const started = performance.now();
    const check = await this.#vocalis.checkMark(audio);
    this.#logger.info(
      {
        guildId: interaction.guildId,
        userId: interaction.user.id,
        result: check.status === 'synthetic' ? `synthetic:${check.voice.status}` : check.status,
        ms: Math.round(performance.now() - started),
      },
      'mark checked',
    );
    const content = renderMarkCheck(locale, check, (owner) =>
      owner.platform === PLATFORM ? `<@${owner.platformUserId}>` : `${owner.platform}:${owner.platformUserId}`,
    );
    // The owner is named, not pinged.
    await interaction.editReply({ content, allowedMentions: { parse: [] } });
  }

  /** The first audio attachment of a message in this guild, from its link. */
  async #linkedAudio(link: string, guildId: string): Promise<Attachment> {
    const match = MESSAGE_LINK.exec(link.trim());
    if (!match || match[1] !== guildId) throw new AdapterError('discord.verify.bad_link');
    const channel = await this.#client.channels.fetch(match[2]!).catch(() => null);
    if (!channel?.isTextBased() || !('guildId' in channel) || channel.guildId !== guildId) throw new AdapterError('discord.verify.bad_link');
    const message = await channel.messages.fetch(match[3]!).catch(() => null);
    if (!message) throw new AdapterError('discord.verify.bad_link');
    const audio = message.attachments.find((a) => (a.contentType ?? '').startsWith('audio/') || /\.(ogg|oga|opus|mp3|m4a|aac|wav|flac)$/i.test(a.name));
    if (!audio) throw new AdapterError('discord.verify.no_audio');
    return audio;
  }
}

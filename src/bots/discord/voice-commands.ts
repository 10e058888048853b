import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import type { DeletionReceipt } from '../../consent/revocation.ts';
import { t, type Locale } from '../../i18n/catalogue.ts';
import type { Logger } from '../../observability/logger.ts';
import { isGuildAdmin } from './admin-check.ts';
import { AdapterError } from './adapter-error.ts';
import { mention } from './messages.ts';
import { discordIdentity, guildContext, PLATFORM, type DiscordVocalis } from './vocalis-port.ts';

export interface VoiceCommandDeps {
  readonly vocalis: DiscordVocalis;
  readonly logger: Logger;
  readonly adminRole: string | undefined;
  /** Called after any revocation, so running recordings and speech stop at once. */
  readonly onRevoked: (userId: string) => void;
}

/** /voice status|delete|share (the member's own voice) and /consent revoke|list (admins). */
export class VoiceCommands {
  readonly #d: VoiceCommandDeps;

  constructor(deps: VoiceCommandDeps) {
    this.#d = deps;
  }

  async voice(interaction: ChatInputCommandInteraction<'cached'>, locale: Locale): Promise<void> {
    const sub = interaction.options.getSubcommand(true);
    const identity = discordIdentity(interaction.user.id);
    let content: string;
    if (sub === 'status') content = this.#status(interaction.user.id, locale);
    else if (sub === 'delete') {
      // Revocation can wait on a running fine-tune: acknowledge within Discord's 3 s first.
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      const receipt = await this.#d.vocalis.revoke({ target: identity, actor: { kind: 'user', platform: PLATFORM, platformUserId: interaction.user.id } });
      this.#d.onRevoked(interaction.user.id);
      this.#d.logger.info({ userId: interaction.user.id, consentId: receipt.consentId }, 'voice deleted by its owner');
      content = t(locale, 'consent.revoked', { voices: receipt.deleted.voices, clips: receipt.deleted.clips, files: receipt.deleted.files });
    } else {
      const member = interaction.options.getUser('member', true);
      const remove = interaction.options.getBoolean('remove') ?? false;
      const current = this.#d.vocalis.status(identity).consent?.scope.speakers;
      const listed = current?.mode === 'listed' ? current.platformUserIds : [];
      const next = remove ? listed.filter((id) => id !== member.id) : [...new Set([...listed, member.id])];
      this.#d.vocalis.setVoiceOptions({ identity, speakers: next.length > 0 ? { mode: 'listed', platformUserIds: next } : { mode: 'owner' } });
      content = t(locale, remove ? 'discord.share.removed' : 'discord.share.added', { member: mention(member.id) });
    }
    await answer(interaction, content);
  }

  async consent(interaction: ChatInputCommandInteraction<'cached'>, locale: Locale): Promise<void> {
    if (!isGuildAdmin(interaction, this.#d.adminRole)) throw new AdapterError('discord.admin.not_admin');
    const sub = interaction.options.getSubcommand(true);
    let content: string;
    if (sub === 'revoke') {
      const member = interaction.options.getUser('member', true);
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      const receipt: DeletionReceipt = await this.#d.vocalis.revoke({
        target: discordIdentity(member.id),
        actor: { kind: 'admin', platform: PLATFORM, context: interaction.guildId, platformUserId: interaction.user.id },
        reason: 'revoked by a server admin',
      });
      this.#d.onRevoked(member.id);
      this.#d.logger.info(
        { guildId: interaction.guildId, adminId: interaction.user.id, userId: member.id, consentId: receipt.consentId },
        'voice revoked by an admin',
      );
      content = t(locale, 'discord.admin.revoked', {
        member: mention(member.id),
        voices: receipt.deleted.voices,
        clips: receipt.deleted.clips,
        files: receipt.deleted.files,
        streams: receipt.deleted.activeWorkStopped,
      });
    } else {
      const live = this.#d.vocalis.listConsents(guildContext(interaction.guildId));
      content =
        live.length === 0
          ? t(locale, 'discord.admin.list_empty')
          : live
              .filter((entry) => entry.user.platform === PLATFORM)
              .map((entry) =>
                t(locale, 'discord.admin.list_line', {
                  member: mention(entry.user.platformUserId),
                  state: entry.consent.state,
                  voice: entry.voice?.currentVersion
                    ? t(locale, 'discord.status.voice_version', { version: entry.voice.currentVersion, state: entry.voice.state })
                    : t(locale, 'discord.status.voice_none'),
                }),
              )
              .join('\n')
              .slice(0, 2000);
    }
    await answer(interaction, content);
  }

  #status(userId: string, locale: Locale): string {
    const status = this.#d.vocalis.status(discordIdentity(userId));
    if (!status.consent) return t(locale, 'discord.status.none');
    const voice = status.voice?.currentVersion
      ? t(locale, 'discord.status.voice_version', { version: status.voice.currentVersion, state: status.voice.state })
      : t(locale, 'discord.status.voice_none');
    const job = status.job
      ? t(locale, 'discord.status.job_line', {
          state: status.job.state,
          percent: Math.round((status.job.progress?.fraction ?? (status.job.state === 'completed' ? 1 : 0)) * 100),
        })
      : t(locale, 'discord.status.job_none');
    return t(locale, 'discord.status.summary', {
      consentId: status.consent.id,
      state: status.consent.state,
      net: Math.floor(status.sample.speechSeconds),
      target: status.sample.targetSeconds,
      clips: status.sample.clips,
      voice,
      job,
    });
  }
}

/** The ephemeral answer: an edit of the deferred reply when the command deferred, else the reply. */
async function answer(interaction: ChatInputCommandInteraction<'cached'>, content: string): Promise<void> {
  if (interaction.deferred) await interaction.editReply({ content, allowedMentions: { parse: [] } });
  else await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}

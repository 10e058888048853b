import { PermissionFlagsBits, SlashCommandBuilder, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { t, type MessageKey } from '../../i18n/catalogue.ts';
import { text } from './messages.ts';
import { verifyCommandDefinition } from './verify-command.ts';

/** The longest /speak text accepted; Discord itself allows 6000 characters per option. */
export const MAX_SPEAK_CHARS = 500;

/** Descriptions in English with Chinese localisations, from the shared catalogue. */
function describe(key: MessageKey): { description: string; zh: Record<'zh-CN' | 'zh-TW', string> } {
  const zh = text('zh', key);
  return { description: text('en', key).slice(0, 100), zh: { 'zh-CN': zh.slice(0, 100), 'zh-TW': zh.slice(0, 100) } };
}

function withDescription<B extends { setDescription(d: string): B; setDescriptionLocalizations(l: Record<string, string>): B }>(
  builder: B,
  key: MessageKey,
): B {
  const d = describe(key);
  return builder.setDescription(d.description).setDescriptionLocalizations(d.zh);
}

/**
 * /clone, /speak, /stop, /voice status|delete|share, /consent revoke|list, /verify.
 * /consent is hidden from members without Manage Server unless an admin role is
 * configured (Discord cannot express "has role X" in default permissions; the bot
 * checks at run time either way).
 */
export function commandDefinitions(options: { adminRoleConfigured: boolean }): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const clone = withDescription(new SlashCommandBuilder().setName('clone'), 'discord.cmd.clone')
    .setDMPermission(false)
    .addStringOption((o) =>
      withDescription(o.setName('source'), 'discord.cmd.clone.source').addChoices(
        {
          name: t('en', 'discord.cmd.clone.source.voice').slice(0, 100),
          value: 'voice',
          name_localizations: { 'zh-CN': t('zh', 'discord.cmd.clone.source.voice') },
        },
        {
          name: t('en', 'discord.cmd.clone.source.upload').slice(0, 100),
          value: 'upload',
          name_localizations: { 'zh-CN': t('zh', 'discord.cmd.clone.source.upload') },
        },
      ),
    )
    .addAttachmentOption((o) => withDescription(o.setName('file'), 'discord.cmd.clone.file'));

  const speak = withDescription(new SlashCommandBuilder().setName('speak'), 'discord.cmd.speak')
    .setDMPermission(false)
    .addStringOption((o) => withDescription(o.setName('text'), 'discord.cmd.speak.text').setRequired(true).setMaxLength(2000))
    .addUserOption((o) => withDescription(o.setName('voice'), 'discord.cmd.speak.voice'))
    .addNumberOption((o) => withDescription(o.setName('speed'), 'discord.cmd.speak.speed').setMinValue(0.5).setMaxValue(2));

  const stop = withDescription(new SlashCommandBuilder().setName('stop'), 'discord.cmd.stop').setDMPermission(false);

  const voice = withDescription(new SlashCommandBuilder().setName('voice'), 'discord.cmd.voice')
    .setDMPermission(false)
    .addSubcommand((s) => withDescription(s.setName('status'), 'discord.cmd.voice.status'))
    .addSubcommand((s) => withDescription(s.setName('delete'), 'discord.cmd.voice.delete'))
    .addSubcommand((s) =>
      withDescription(s.setName('share'), 'discord.cmd.voice.share')
        .addUserOption((o) => withDescription(o.setName('member'), 'discord.cmd.voice.share.member').setRequired(true))
        .addBooleanOption((o) => withDescription(o.setName('remove'), 'discord.cmd.voice.share.remove')),
    );

  const consent = withDescription(new SlashCommandBuilder().setName('consent'), 'discord.cmd.consent')
    .setDMPermission(false)
    .addSubcommand((s) =>
      withDescription(s.setName('revoke'), 'discord.cmd.consent.revoke').addUserOption((o) =>
        withDescription(o.setName('member'), 'discord.cmd.consent.revoke.member').setRequired(true),
      ),
    )
    .addSubcommand((s) => withDescription(s.setName('list'), 'discord.cmd.consent.list'));
  if (!options.adminRoleConfigured) consent.setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild);

  return [clone, speak, stop, voice, consent, verifyCommandDefinition(withDescription)].map((b) => b.toJSON());
}

import { ActionRowBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder } from 'discord.js';
import type { ConsentOffer } from '../../consent/consent-service.ts';
import type { ReadingScript } from '../../consent/reading-script.ts';
import { t, type Locale } from '../../i18n/catalogue.ts';

/** Button custom ids: `vocalis:<action>:<id>`. Ids are consent ids or user ids, never text. */
export type ButtonAction = 'agree' | 'cancel' | 'stop';

export function buttonId(action: ButtonAction, id: string): string {
  return `vocalis:${action}:${id}`;
}

export function parseButtonId(customId: string): { action: ButtonAction; id: string } | null {
  const match = /^vocalis:(agree|cancel|stop):([\w-]+)$/.exec(customId);
  if (!match) return null;
  return { action: match[1] as ButtonAction, id: match[2] ?? '' };
}

/** The reading script: the consent statement with the challenge first, then the sentences. */
export function scriptEmbed(locale: Locale, script: ReadingScript): EmbedBuilder {
  const lines = script.sentences.map((s, i) => (i === 0 ? `**${s}**` : s));
  return new EmbedBuilder()
    .setTitle(t(locale, 'discord.consent.script_title'))
    .setDescription(`${t(locale, 'consent.script_intro')}\n\n${lines.join('\n')}`.slice(0, 4096));
}

/**
 * The consent notice: what is recorded, why, who can make the voice speak, retention
 * and how to revoke (the versioned text whose hash the ledger keeps), the challenge
 * phrase and the script, with Agree / Cancel.
 */
export function consentPrompt(
  locale: Locale,
  offer: ConsentOffer,
  timeoutMinutes: number,
): {
  embeds: EmbedBuilder[];
  components: ActionRowBuilder<ButtonBuilder>[];
} {
  const notice = new EmbedBuilder()
    .setTitle(t(locale, 'consent.title'))
    .setDescription(offer.text.body.slice(0, 4096))
    .addFields({ name: t(locale, 'discord.consent.notice_title'), value: t(locale, 'consent.challenge', { challenge: offer.consent.challenge }) })
    .setFooter({ text: `${t(locale, 'discord.consent.footer', { minutes: timeoutMinutes })} (${offer.text.id})` });
  const buttons = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(buttonId('agree', offer.consent.id)).setStyle(ButtonStyle.Success).setLabel(t(locale, 'consent.agree')),
    new ButtonBuilder().setCustomId(buttonId('cancel', offer.consent.id)).setStyle(ButtonStyle.Secondary).setLabel(t(locale, 'consent.cancel')),
  );
  return { embeds: [notice, scriptEmbed(locale, offer.script)], components: [buttons] };
}

/** The Stop button under a running recording. */
export function stopRecordingRow(locale: Locale, userId: string): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(buttonId('stop', userId)).setStyle(ButtonStyle.Danger).setLabel(t(locale, 'discord.recording.stop')),
  );
}

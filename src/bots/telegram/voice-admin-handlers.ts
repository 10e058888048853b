import { Composer } from 'telegraf';
import type { DeletionReceipt } from '../../consent/revocation.ts';
import { VocalisError } from '../../core/user-facing-error.ts';
import { t, type Locale } from '../../i18n/catalogue.ts';
import { displayName, identityOf, isGroupChat, PLATFORM, type BotContext } from './bot-context.ts';
import { revocationActorFor } from './chat-admins.ts';
import type { HandlerDeps } from './handler-deps.ts';

/**
 * /voice shows the person's consent, sample and voice (/voice share | private sets who
 * may make it speak); /delete revokes their own
 * consent at once (withdrawing is as easy as agreeing: one command, no confirmation);
 * /revoke, as a reply to a member's message, lets a chat admin or an operator revoke
 * that member's voice — the core only lets an admin revoke consents given in this chat.
 */
export function voiceAdminHandlers(deps: HandlerDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.command('voice', (ctx) => {
    const reply = (text: string) => deps.outbox.post(ctx.chat.id, text, { replyTo: ctx.message.message_id });
    const option = ctx.payload.trim().toLowerCase();
    if (option === 'share' || option === 'private') {
      // Who may make the voice speak is part of the consent; the core records the change in the ledger.
      deps.vocalis.setVoiceOptions({ identity: identityOf(ctx.from), speakers: option === 'share' ? { mode: 'context' } : { mode: 'owner' } });
      deps.logger.info({ chatId: ctx.chat.id, userId: ctx.from.id, speakers: option }, 'voice sharing changed');
      return reply(t(ctx.locale, option === 'share' ? 'telegram.voice_shared' : 'telegram.voice_private'));
    }
    const status = deps.vocalis.status(identityOf(ctx.from));
    if (!status.consent) return reply(t(ctx.locale, 'telegram.status_none'));
    const voice =
      status.voice && status.voice.currentVersion !== null
        ? t(ctx.locale, 'telegram.voice_state', { state: status.voice.state, version: status.voice.currentVersion })
        : t(ctx.locale, 'telegram.voice_none');
    reply(
      t(ctx.locale, 'telegram.status', {
        consentId: status.consent.id,
        state: status.consent.state,
        scope: status.consent.scope.context,
        net: Math.floor(status.sample.speechSeconds),
        target: status.sample.targetSeconds,
        clips: status.sample.clips,
        voice,
      }),
    );
  });

  composer.command('delete', async (ctx) => {
    const receipt = await deps.vocalis.revoke({
      target: identityOf(ctx.from),
      actor: { kind: 'user', platform: PLATFORM, platformUserId: String(ctx.from.id) },
      reason: 'revoked by the user on Telegram',
    });
    deps.logger.info({ chatId: ctx.chat.id, userId: ctx.from.id, consentId: receipt.consentId, ...receipt.deleted }, 'consent revoked by its owner');
    deps.outbox.post(ctx.chat.id, revokedText(ctx.locale, receipt), { replyTo: ctx.message.message_id });
  });

  composer.command('revoke', async (ctx) => {
    const reply = (text: string) => deps.outbox.post(ctx.chat.id, text, { replyTo: ctx.message.message_id });
    if (!isGroupChat(ctx.chat)) return reply(t(ctx.locale, 'telegram.revoke_group_only'));
    const target = ctx.message.reply_to_message?.from;
    if (!target || target.is_bot) return reply(t(ctx.locale, 'telegram.revoke_usage'));
    const actor = await revocationActorFor(deps.outbox, deps.operatorIds, ctx.chat.id, ctx.from.id);
    if (!actor) throw new VocalisError('not_permitted', 'only chat admins and operators may revoke');
    const receipt = await deps.vocalis.revoke({ target: identityOf(target), actor, reason: `revoked by a ${actor.kind} on Telegram` });
    deps.logger.info(
      { chatId: ctx.chat.id, actorId: ctx.from.id, actorKind: actor.kind, targetId: target.id, consentId: receipt.consentId, ...receipt.deleted },
      'consent revoked by an admin',
    );
    reply(`${t(ctx.locale, 'telegram.revoked_member', { name: displayName(target) })}\n${revokedText(ctx.locale, receipt)}`);
  });

  return composer;
}

function revokedText(locale: Locale, receipt: DeletionReceipt): string {
  return t(locale, 'consent.revoked', { voices: receipt.deleted.voices, clips: receipt.deleted.clips, files: receipt.deleted.files });
}

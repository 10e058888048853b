import { Composer } from 'telegraf';
import { ConsentError } from '../../consent/consent-errors.ts';
import type { ConsentOffer } from '../../consent/consent-service.ts';
import type { AcceptedConsent } from '../../core/vocalis.ts';
import { isUserFacingError } from '../../core/user-facing-error.ts';
import { t, type Locale } from '../../i18n/catalogue.ts';
import { renderError } from '../../i18n/error-messages.ts';
import { identityOf, isGroupChat, requestContextOf, type BotContext } from './bot-context.ts';
import { answerCallback } from './callback-answers.ts';
import { CONSENT_CALLBACK, consentCallback, parseConsentCallback } from './callback-data.ts';
import type { HandlerDeps } from './handler-deps.ts';

/**
 * /clone shows the consent notice with Agree / Cancel buttons; nothing is recorded
 * until Agree. The consent's scope is the chat where /clone was sent. Only the person
 * who asked can press the buttons (the core refuses anyone else with not_your_consent).
 */
export function consentHandlers(deps: HandlerDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.command('clone', (ctx) => {
    const identity = identityOf(ctx.from);
    // A consent that is already given is refused by the core (consent_exists); errorReply says so.
    const offer = deps.vocalis.offerConsent({ identity, language: ctx.locale, context: requestContextOf(ctx.chat) });
    deps.logger.info({ chatId: ctx.chat.id, userId: ctx.from.id, consentId: offer.consent.id }, 'consent offered');
    deps.outbox.post(ctx.chat.id, consentNotice(ctx.locale, offer), {
      replyTo: ctx.message.message_id,
      buttons: [
        [
          { text: t(ctx.locale, 'consent.agree'), callback_data: consentCallback('agree', offer.consent.id) },
          { text: t(ctx.locale, 'consent.cancel'), callback_data: consentCallback('cancel', offer.consent.id) },
        ],
      ],
    });
  });

  composer.action(CONSENT_CALLBACK, async (ctx) => {
    const parsed = parseConsentCallback(ctx.match[0]);
    if (!parsed) return;
    const identity = identityOf(ctx.from);
    const notice = ctx.callbackQuery.message;
    const noticeText = notice && 'text' in notice ? notice.text : '';
    try {
      if (parsed.action === 'cancel') {
        deps.vocalis.declineConsent({ identity, consentId: parsed.consentId });
        await answerCallback(ctx, deps.outbox, t(ctx.locale, 'telegram.button_done'));
        if (notice)
          deps.outbox.settle(deps.outbox.editText(notice.chat.id, notice.message_id, t(ctx.locale, 'consent.declined')), notice.chat.id, 'editMessageText');
        return;
      }
      const receipt = deps.vocalis.acceptConsent({ identity, consentId: parsed.consentId });
      deps.logger.info({ chatId: ctx.chat?.id, userId: ctx.from.id, consentId: receipt.consentId }, 'consent granted');
      await answerCallback(ctx, deps.outbox, t(ctx.locale, 'telegram.button_done'));
      const granted = t(ctx.locale, 'consent.granted', { consentId: receipt.consentId, textId: receipt.textId, hash: receipt.textSha256 });
      const chat = notice?.chat ?? ctx.chat;
      if (!chat) return;
      // The notice keeps the text that was agreed to, with the receipt appended and the buttons gone.
      if (notice)
        deps.outbox.settle(deps.outbox.editText(chat.id, notice.message_id, noticeText ? `${noticeText}\n\n${granted}` : granted), chat.id, 'editMessageText');
      deps.outbox.post(chat.id, scriptMessage(ctx.locale, receipt, isGroupChat(chat)), notice ? { replyTo: notice.message_id } : {});
    } catch (error) {
      if (!isUserFacingError(error)) throw error;
      await answerCallback(ctx, deps.outbox, renderError(ctx.locale, error), true);
      // A stale notice loses its buttons so nobody presses them again.
      if (notice && error instanceof ConsentError && (error.code === 'offer_expired' || error.code === 'unknown_consent')) {
        deps.outbox.settle(deps.outbox.editText(notice.chat.id, notice.message_id, t(ctx.locale, 'consent.expired')), notice.chat.id, 'editMessageText');
      }
    }
  });

  return composer;
}

function consentNotice(locale: Locale, offer: ConsentOffer): string {
  return `${t(locale, 'consent.title')}\n\n${offer.text.body}`;
}

/** The challenge phrase and the reading script, sent once the person agreed. */
function scriptMessage(locale: Locale, accepted: AcceptedConsent, group: boolean): string {
  const lines = accepted.script.sentences.map((sentence, i) => `${i + 1}. ${sentence}`);
  return [
    t(locale, 'consent.challenge', { challenge: accepted.challenge }),
    t(locale, 'consent.script_intro'),
    lines.join('\n'),
    t(locale, 'telegram.record_prompt'),
    ...(group ? [t(locale, 'telegram.record_prompt_group')] : []),
  ].join('\n\n');
}

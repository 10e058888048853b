import { Composer } from 'telegraf';
import type { PcmChunk } from '../../engine/pcm.ts';
import { encodeOggOpus } from '../../engine/audio/opus-frames.ts';
import { t } from '../../i18n/catalogue.ts';
import { displayName, identityOf, requestContextOf, type BotContext } from './bot-context.ts';
import type { HandlerDeps } from './handler-deps.ts';

/**
 * /speak <text>: the requester's own voice — or, as a reply to a member's message, that
 * member's voice if they shared it — says the text, sent back as a voice note (Ogg Opus)
 * whose caption says it is an AI voice and whose. In a group the note
 * goes to the group. The text is the user's: it is passed to the core and never
 * logged — logs carry its length only.
 */
export function speakHandlers(deps: HandlerDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  composer.command('speak', async (ctx) => {
    const text = ctx.payload.trim();
    if (text === '') {
      deps.outbox.post(ctx.chat.id, t(ctx.locale, 'telegram.speak_usage'), { replyTo: ctx.message.message_id });
      return;
    }
    deps.speakLimiter.take(`user:${ctx.from.id}`, `chat:${ctx.chat.id}`);
    // As a reply to someone's message: their voice (the core allows it only if they shared it).
    const replied = ctx.message.reply_to_message?.from;
    const owner = replied && !replied.is_bot && replied.id !== ctx.from.id ? replied : ctx.from;
    const started = performance.now();
    const speech = deps.vocalis.speak({ requester: identityOf(ctx.from), owner: identityOf(owner), context: requestContextOf(ctx.chat), text });
    const counted = countSeconds(speech.audio);
    // While this synthesises, no new voice clip starts processing (SpeechFirst).
    const ogg = await deps.speechFirst.speaking(() => encodeOggOpus(counted.chunks));
    const caption = t(ctx.locale, 'speak.disclosure', { owner: displayName(owner) });
    deps.logger.info(
      {
        chatId: ctx.chat.id,
        userId: ctx.from.id,
        ownerId: owner.id,
        voiceId: speech.voice.id,
        chars: [...text].length,
        audioSeconds: Math.round(counted.seconds() * 100) / 100,
        bytes: ogg.byteLength,
        ms: Math.round(performance.now() - started),
      },
      'speech synthesised',
    );
    deps.outbox.settle(
      deps.outbox.sendVoice(ctx.chat.id, ogg, { caption, replyTo: ctx.message.message_id, durationSeconds: counted.seconds() }),
      ctx.chat.id,
      'sendVoice',
    );
  });
  return composer;
}

/** Passes chunks through while adding up their duration, for sendVoice's duration field. */
function countSeconds(audio: AsyncIterable<PcmChunk>): { chunks: AsyncIterable<PcmChunk>; seconds: () => number } {
  let seconds = 0;
  async function* pass(): AsyncGenerator<PcmChunk> {
    for await (const chunk of audio) {
      seconds += chunk.samples.length / chunk.sampleRate;
      yield chunk;
    }
  }
  return { chunks: pass(), seconds: () => seconds };
}

import { readFile, rename, writeFile } from 'node:fs/promises';
import type { CliContext } from '../cli-context.ts';
import { ok, UsageError, type CommandResult } from '../cli-io.ts';
import { encodeOggOpus } from '../../engine/audio/opus-frames.ts';
import type { PcmChunk } from '../../engine/pcm.ts';

/** `vocalis speak --user ID --out FILE.ogg [--speed X] (TEXT | --text-file F)` */
export async function speakCommand(ctx: CliContext): Promise<CommandResult> {
  const identity = ctx.identity();
  const out = ctx.option('out');
  if (!out?.endsWith('.ogg')) throw new UsageError('speak needs --out FILE.ogg');
  const textFile = ctx.option('text-file');
  const text = textFile ? await readFile(textFile, 'utf8') : ctx.positionals.join(' ');
  if (!text.trim()) throw new UsageError('speak needs TEXT or --text-file F');
  const speed = ctx.option('speed') === undefined ? 1 : Number(ctx.option('speed'));
  if (!Number.isFinite(speed) || speed < 0.5 || speed > 2) throw new UsageError('--speed must be between 0.5 and 2');

  const { vocalis } = await ctx.runtime({ queue: false });
  const started = performance.now();
  let firstAudioMs: number | null = null;
  let seconds = 0;
  const speech = vocalis.speak({ requester: identity, context: { platform: identity.platform, contextId: ctx.option('scope') ?? '*' }, text, speed });
  async function* timed(): AsyncGenerator<PcmChunk> {
    for await (const chunk of speech.audio) {
      firstAudioMs ??= performance.now() - started;
      seconds += chunk.samples.length / chunk.sampleRate;
      yield chunk;
    }
  }
  const ogg = await encodeOggOpus(timed());
  // Written aside and renamed, so a failed synthesis never leaves a truncated file behind.
  await writeFile(`${out}.partial`, ogg);
  await rename(`${out}.partial`, out);
  const figures = { out, seconds: round(seconds), bytes: ogg.byteLength, firstAudioMs: round(firstAudioMs ?? 0), totalMs: round(performance.now() - started) };
  return ok(figures, `Wrote ${out}: ${figures.seconds} s of synthetic speech (first audio after ${figures.firstAudioMs} ms).`);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

// The real service as a process (test/app/fixtures/tone-sharded-service.ts: src/main.ts with the
// tone backend) connected to the fake Discord, with or without DISCORD_SHARDS, and the Discord
// steps the sharding test and bench share: /clone from a voice message, /speak, audio at the fake.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAudioFile } from '../../src/engine/audio/decode.ts';
import { encodeOggOpus } from '../../src/engine/audio/opus-frames.ts';
import {
  isSilenceFrame,
  MessageFlags,
  OptionType,
  startFakeDiscord,
  type FakeDiscord,
  type FakeDiscordOptions,
  type FakeGuild,
  type FakeUser,
  type RecordedFrame,
} from '../fakes/discord/index.ts';
import { contentOf, waitForEdit } from '../bots/discord/harness.ts';
import { eventually } from '../support/runtime-fixture.ts';
import { speakerFiles } from '../support/speech-data.ts';
import { killIfRunning, launchService, type LogLine, type ServiceProcess } from './service-process.ts';

export interface DiscordService {
  readonly discord: FakeDiscord;
  readonly service: ServiceProcess;
  /** The service's data directory (VOCALIS_DATA_DIR). */
  readonly dataDir: string;
  /** Log lines of the service and its shard processes with this message. */
  logs(msg: string, where?: (line: LogLine) => boolean): LogLine[];
  /** The pid of the newest process of a shard, from the manager's log. */
  shardPid(shard: number): number;
  healthz(): Promise<{ status: number; checks: Record<string, boolean> }>;
  close(): Promise<void>;
}

/**
 * Starts the fake Discord (made ready by `prepare`: guilds, members) and then the service
 * against it. `shards`: DISCORD_SHARDS, or undefined for the single-process adapter.
 */
export async function startDiscordService(options: {
  shards: string | undefined;
  fake?: FakeDiscordOptions;
  prepare?: (discord: FakeDiscord) => void;
  env?: Record<string, string>;
}): Promise<DiscordService> {
  const discord = await startFakeDiscord(options.fake);
  options.prepare?.(discord);
  const dir = await mkdtemp(join(tmpdir(), 'vocalis-discord-service-'));
  // The shard processes dial the fake voice server's wss:// with its self-signed certificate.
  const caFile = join(dir, 'fake-voice-ca.pem');
  await writeFile(caFile, discord.voice.server.certificatePem);
  const dataDir = join(dir, 'data');
  const service = launchService('tone-sharded-service', dataDir, {
    DISCORD_TOKEN: discord.token,
    DISCORD_API_ROOT: discord.restUrl,
    ...(options.shards ? { DISCORD_SHARDS: options.shards } : {}),
    NODE_EXTRA_CA_CERTS: caFile,
    VOCALIS_CONSENT_VERIFICATION: 'off',
    VOCALIS_LOG_LEVEL: 'info',
    ...options.env,
  });
  const logs = (msg: string, where: (line: LogLine) => boolean = () => true) => service.logs.filter((line) => line.msg === msg && where(line));
  // A graceful stop first (the service stops its shards and its Redis), then nothing left to chance.
  const close = async () => {
    const redisPid = await service.redisPid().catch(() => undefined);
    const running = await Promise.race([service.exited.then(() => false), Promise.resolve(true)]);
    if (running) {
      try {
        process.kill(service.servicePid(), 'SIGTERM');
      } catch {
        // not started far enough to have logged its pid
      }
      await Promise.race([service.exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    }
    service.kill();
    killIfRunning(redisPid);
    await discord.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await service.ready;
  } catch (error) {
    await close();
    throw error;
  }
  return {
    discord,
    service,
    dataDir,
    logs,
    shardPid(shard) {
      const started = logs('discord shard process started', (l) => l['shard'] === shard).at(-1);
      if (typeof started?.['pid'] !== 'number') throw new Error(`no process of shard ${shard} logged`);
      return started['pid'];
    },
    async healthz() {
      const port = logs('Vocalis is running')[0]?.['httpPort'];
      const response = await fetch(`http://127.0.0.1:${String(port)}/healthz`);
      const body = (await response.json()) as { checks?: Record<string, boolean> };
      return { status: response.status, checks: body.checks ?? {} };
    },
    close,
  };
}

/** A Discord voice message (Ogg Opus) of LibriSpeech speech, `seconds` long at most. */
export async function voiceMessage(seconds: number): Promise<{ data: Buffer; seconds: number }> {
  const pcm = await decodeAudioFile(speakerFiles('1688')[0]!, { sampleRate: 48000 });
  const samples = pcm.samples.subarray(0, Math.min(pcm.samples.length, seconds * 48000));
  return { data: Buffer.from(await encodeOggOpus({ samples, sampleRate: 48000 })), seconds: samples.length / 48000 };
}

function buttonIds(record: { data: Record<string, unknown> | undefined }): string[] {
  const rows = (record.data?.['components'] ?? []) as Array<{ components?: Array<{ custom_id?: string }> }>;
  return rows.flatMap((row) => (row.components ?? []).map((c) => c.custom_id ?? ''));
}

/** /clone from a voice message in `guild`, until the sample is judged good (its preview voice then speaks). */
export async function cloneByVoiceMessage(discord: FakeDiscord, guild: FakeGuild, member: FakeUser, message: { data: Buffer; seconds: number }): Promise<void> {
  const slash = guild.dispatchInteraction({
    kind: 'slash',
    name: 'clone',
    userId: member.id,
    options: [{ name: 'source', type: OptionType.String, value: 'upload' }],
  });
  const offer = await discord.waitForInteractionResponse(slash.id, 10_000);
  const agreeId = buttonIds(offer).find((id) => id.startsWith('vocalis:agree:'));
  assert.ok(agreeId, `an Agree button in ${guild.state.name}`);
  const agree = guild.dispatchInteraction({ kind: 'button', customId: agreeId, userId: member.id });
  await waitForEdit(discord, agree.id, /Send a Discord voice message/);
  guild.dispatchMessage({
    authorId: member.id,
    attachments: [{ filename: 'voice-message.ogg', data: message.data, contentType: 'audio/ogg', durationSecs: message.seconds }],
    flags: MessageFlags.IsVoiceMessage,
  });
  await waitForEdit(discord, agree.id, /Your sample is good/, 30_000);
}

/** `/speak` of `words` words (the tone backend speaks 10 frames a word); returns the interaction id. */
export function speak(guild: FakeGuild, member: FakeUser, words: number): string {
  const text = Array.from({ length: words }, () => 'hello').join(' ');
  return guild.dispatchInteraction({ kind: 'slash', name: 'speak', userId: member.id, options: [{ name: 'text', type: OptionType.String, value: text }] }).id;
}

/** The audio (not silence) frames the bot sent in a guild from frame index `from` on. */
export const audioFrom = (frames: readonly RecordedFrame[], from: number): RecordedFrame[] => frames.slice(from).filter((f) => !isSilenceFrame(f.opus));

/** /speak of `words` words plays completely in `guild`; returns ms from the interaction to its first audio frame. */
export async function speaksCompletely(discord: FakeDiscord, guild: FakeGuild, member: FakeUser, words: number): Promise<number> {
  const start = guild.voice.frames().length;
  const sentAt = process.hrtime.bigint();
  const id = speak(guild, member, words);
  const reply = await discord.waitForInteractionResponse(id, 10_000);
  assert.match(contentOf(reply), new RegExp(`AI voice of <@${member.id}>`));
  await eventually(() => audioFrom(guild.voice.frames(), start).length >= words * 10 - 5, 20_000, `the utterance in ${guild.state.name}`);
  return Number(audioFrom(guild.voice.frames(), start)[0]!.arrivedAtNs - sentAt) / 1e6;
}

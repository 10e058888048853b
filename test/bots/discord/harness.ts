// A Vocalis runtime (real SQLite, files, redis, queue, worker) + the fake Discord + the
// real Discord adapter (discord.js and @discordjs/voice), wired as the service wires them.
import { startDiscordAdapter, type DiscordAdapter, type DiscordTuning } from '../../../src/bots/discord/discord-adapter.ts';
import type { DiscordVocalis } from '../../../src/bots/discord/vocalis-port.ts';
import type { VoiceBackend } from '../../../src/engine/backend.ts';
import { decodeAudioFile } from '../../../src/engine/audio/decode.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import type { Logger } from '../../../src/observability/logger.ts';
import {
  startFakeDiscord,
  type FakeDiscord,
  type FakeDiscordOptions,
  type FakeUser,
  type InteractionResponseRecord,
  type WebhookCallRecord,
} from '../../fakes/discord/index.ts';
import { encodeOpusFrames } from '../../fakes/discord/opus-fixtures.ts';
import { eventually, startRuntime, type RuntimeFixture } from '../../support/runtime-fixture.ts';
import { speakerFiles } from '../../support/speech-data.ts';
import { createToneBackend } from '../../support/tone-backend.ts';

export interface Harness {
  readonly fixture: RuntimeFixture;
  readonly discord: FakeDiscord;
  readonly adapter: DiscordAdapter;
  /** Every clip (WAV bytes) the adapter handed to the core, in order. */
  readonly clips: Uint8Array[];
  close(): Promise<void>;
}

export async function startHarness(
  options: {
    backend?: VoiceBackend;
    /** Runtime needs (default: queue and worker). */
    needs?: { queue: boolean; worker?: boolean };
    tuning?: Partial<DiscordTuning>;
    streamLeadMs?: number;
    adminRole?: string;
    fake?: FakeDiscordOptions;
    logger?: Logger;
    /**
     * Revocation waits this long before it starts, as it does when it has to wait for a
     * running fine-tune to stop (the real revocation then runs in full).
     */
    revokeDelayMs?: number;
  } = {},
): Promise<Harness> {
  const fixture = await startRuntime({
    backends: [options.backend ?? createToneBackend({ targetSpeechSeconds: 8 })],
    ...(options.needs ? { needs: options.needs } : {}),
  });
  const discord = await startFakeDiscord(options.fake);
  const real = fixture.runtime.vocalis;
  const clips: Uint8Array[] = [];
  // The real core, with addClip observed so tests can check what entered the sample.
  const vocalis: DiscordVocalis = {
    offerConsent: (i) => real.offerConsent(i),
    acceptConsent: (i) => real.acceptConsent(i),
    declineConsent: (i) => real.declineConsent(i),
    addClip: (i) => {
      clips.push(i.audio);
      return real.addClip(i);
    },
    status: (i) => real.status(i),
    speak: (r) => real.speak(r),
    revoke: async (i) => {
      if (options.revokeDelayMs) await new Promise((resolve) => setTimeout(resolve, options.revokeDelayMs));
      return real.revoke(i);
    },
    setVoiceOptions: (i) => real.setVoiceOptions(i),
    listConsents: (c) => real.listConsents(c),
    watchJob: (id, cb, ms) => real.watchJob(id, cb, ms),
    checkMark: (audio, signal) => real.checkMark(audio, signal),
    get activeSpeechStreams() {
      return real.activeSpeechStreams;
    },
  };
  const adapter = await startDiscordAdapter({
    config: {
      token: discord.token,
      applicationId: discord.applicationId,
      guildId: discord.guild.id,
      adminRole: options.adminRole,
      streamLeadMs: options.streamLeadMs ?? 300,
    },
    vocalis,
    logger: options.logger ?? createLogger({ level: process.env['VOCALIS_TEST_LOG'] ?? 'silent' }),
    restApi: discord.restUrl,
    tuning: { progressEveryMs: 500, clipPackets: 250, jobWatchMs: 100, idleLeaveMs: 5_000, speakLimit: { capacity: 30, perMinute: 60 }, ...options.tuning },
  });
  return {
    fixture,
    discord,
    adapter,
    clips,
    async close() {
      await adapter.stop();
      await discord.close();
      await fixture.close();
    },
  };
}

/** Content of an interaction response or webhook call. */
export function contentOf(record: InteractionResponseRecord | WebhookCallRecord): string {
  const data = 'data' in record ? record.data : record.body;
  return typeof data?.['content'] === 'string' ? data['content'] : '';
}

/** Waits for the first webhook call on an interaction whose content matches. */
export async function waitForEdit(discord: FakeDiscord, interactionId: string, pattern: RegExp, timeoutMs = 15_000): Promise<WebhookCallRecord> {
  return discord.interactions.webhookCalls.waitFor((c) => c.interactionId === interactionId && pattern.test(contentOf(c)), timeoutMs);
}

/** Stereo 48 kHz 20 ms Opus frames of a LibriSpeech speaker, at least `seconds` long. */
export async function speechFrames(speaker: string, seconds: number): Promise<Buffer[]> {
  const parts: Float32Array[] = [];
  let total = 0;
  for (const file of speakerFiles(speaker)) {
    const decoded = await decodeAudioFile(file, { sampleRate: 48000 });
    parts.push(decoded.samples);
    total += decoded.samples.length;
    if (total >= seconds * 48000) break;
  }
  const stereo = new Int16Array(total * 2);
  let at = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      const v = Math.max(-32768, Math.min(32767, Math.round((part[i] ?? 0) * 32767)));
      stereo[at++] = v;
      stereo[at++] = v;
    }
  }
  return encodeOpusFrames(stereo);
}

/** `/clone`, then Agree, until the member's recording in the voice channel runs; returns the Agree interaction's id. */
export async function startVoiceRecording(h: Harness, member: FakeUser): Promise<string> {
  const slash = h.discord.dispatchInteraction({ kind: 'slash', name: 'clone', userId: member.id });
  await h.discord.waitForInteractionResponse(slash.id);
  const consentId = h.fixture.runtime.vocalis.status({ platform: 'discord', platformUserId: member.id }).consent?.id;
  if (!consentId) throw new Error('no consent on offer after /clone');
  const agree = h.discord.dispatchInteraction({ kind: 'button', customId: `vocalis:agree:${consentId}`, userId: member.id });
  await waitForEdit(h.discord, agree.id, /Recording in the voice channel/, 15_000);
  await eventually(() => h.adapter.clone.sessionOf(member.id)?.state.status === 'recording', 10_000, 'the recording to start');
  return agree.id;
}

import type { Vocalis } from '../../core/vocalis.ts';

/**
 * The part of the core the Discord adapter uses. A structural type, so tests can
 * wrap the real core (e.g. to look at the clips handed to it) without a mock.
 */
export type DiscordVocalis = Pick<
  Vocalis,
  | 'offerConsent'
  | 'acceptConsent'
  | 'declineConsent'
  | 'addClip'
  | 'status'
  | 'speak'
  | 'revoke'
  | 'setVoiceOptions'
  | 'listConsents'
  | 'watchJob'
  | 'activeSpeechStreams'
  | 'checkMark'
>;

export const PLATFORM = 'discord';

export function discordIdentity(userId: string): { platform: string; platformUserId: string } {
  return { platform: PLATFORM, platformUserId: userId };
}

export function guildContext(guildId: string): { platform: string; contextId: string } {
  return { platform: PLATFORM, contextId: guildId };
}

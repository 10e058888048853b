import { readFile } from 'node:fs/promises';
import type { Runtime } from '../../src/app/runtime.ts';
import { speakerFiles } from '../support/speech-data.ts';

export const EVERYWHERE = { platform: 'cli', contextId: '*' };

/** A consenting CLI user whose sample is complete: the tone backend's preview voice speaks at once. */
export async function previewVoice(
  runtime: Runtime,
  platformUserId: string,
  speaker = '3005',
): Promise<{ identity: { platform: string; platformUserId: string }; userId: string; voiceId: string }> {
  const { vocalis, users, voices } = runtime;
  const identity = { platform: 'cli', platformUserId };
  const offer = vocalis.offerConsent({ identity, language: 'en', context: EVERYWHERE });
  vocalis.acceptConsent({ identity, consentId: offer.consent.id });
  const clip = await vocalis.addClip({ identity, audio: await readFile(speakerFiles(speaker)[0]!), cloneWhenComplete: false });
  if (clip.kind !== 'stored' || !clip.complete) throw new Error('the clip did not complete the sample');
  const userId = users.find('cli', platformUserId)!.id;
  const voice = voices.forUser(userId)[0];
  if (!voice) throw new Error('no preview voice');
  return { identity, userId, voiceId: voice.id };
}

export function words(count: number): string {
  return Array.from({ length: count }, (_, i) => `word${i}`).join(' ');
}

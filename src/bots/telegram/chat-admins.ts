import type { RevocationActor } from '../../consent/revocation.ts';
import type { Outbox } from './outbox.ts';
import { PLATFORM } from './bot-context.ts';

/**
 * Who may revoke a member's voice in a chat: a configured operator (anywhere), or an
 * administrator of that chat according to getChatAdministrators, asked fresh each
 * time so a demoted admin loses the right at once. Returns null for anyone else.
 */
export async function revocationActorFor(outbox: Outbox, operatorIds: ReadonlySet<string>, chatId: number, userId: number): Promise<RevocationActor | null> {
  if (operatorIds.has(String(userId))) return { kind: 'operator' };
  const admins = await outbox.chatAdministrators(chatId);
  const isAdmin = admins.some((member) => member.user.id === userId && (member.status === 'creator' || member.status === 'administrator'));
  return isAdmin ? { kind: 'admin', platform: PLATFORM, context: String(chatId), platformUserId: String(userId) } : null;
}

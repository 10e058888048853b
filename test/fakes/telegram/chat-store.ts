import type { Chat, ChatMember, Message, User } from 'telegraf/types';

/** Chats a test can address; channels are out of scope for Vocalis. */
export type FakeChat = Chat.PrivateChat | Chat.GroupChat | Chat.SupergroupChat;

/**
 * Server-side state that spans calls: message ids are allocated per chat from
 * one counter shared by users and the bot, as in real Telegram, so replies,
 * edits and deletes can be validated.
 */
export class ChatStore {
  readonly #messages = new Map<string, Message>();
  readonly #nextMessageId = new Map<number, number>();
  readonly #chats = new Map<number, FakeChat>();
  readonly #members = new Map<number, Map<number, ChatMember>>();

  nextMessageId(chatId: number): number {
    const next = this.#nextMessageId.get(chatId) ?? 1;
    this.#nextMessageId.set(chatId, next + 1);
    return next;
  }

  rememberChat(chat: FakeChat): void {
    if (!this.#chats.has(chat.id)) this.#chats.set(chat.id, chat);
  }

  /** A chat seen in an update, or a plausible stand-in derived from the id's sign. */
  chat(chatId: number): FakeChat {
    const known = this.#chats.get(chatId);
    if (known !== undefined) return known;
    return chatId < 0
      ? { id: chatId, type: chatId < -1_000_000_000_000 ? 'supergroup' : 'group', title: `Group ${-chatId}` }
      : { id: chatId, type: 'private', first_name: `User ${chatId}` };
  }

  storeMessage(message: Message): void {
    this.#messages.set(key(message.chat.id, message.message_id), message);
  }

  message(chatId: number, messageId: number): Message | undefined {
    return this.#messages.get(key(chatId, messageId));
  }

  deleteMessage(chatId: number, messageId: number): boolean {
    return this.#messages.delete(key(chatId, messageId));
  }

  /** Messages of a chat in id order, optionally only those the bot sent. */
  messages(chatId: number, fromUserId?: number): Message[] {
    return [...this.#messages.values()]
      .filter((m) => m.chat.id === chatId && (fromUserId === undefined || m.from?.id === fromUserId))
      .sort((a, b) => a.message_id - b.message_id);
  }

  /** Users who post in a group become members unless a test set them otherwise. */
  noteMember(chatId: number, user: User): void {
    const members = this.#membersOf(chatId);
    if (!members.has(user.id)) members.set(user.id, { status: 'member', user });
  }

  setMember(chatId: number, member: ChatMember): void {
    this.#membersOf(chatId).set(member.user.id, member);
  }

  member(chatId: number, userId: number): ChatMember | undefined {
    return this.#members.get(chatId)?.get(userId);
  }

  administrators(chatId: number): ChatMember[] {
    return [...(this.#members.get(chatId)?.values() ?? [])].filter((m) => m.status === 'creator' || m.status === 'administrator');
  }

  #membersOf(chatId: number): Map<number, ChatMember> {
    let members = this.#members.get(chatId);
    if (members === undefined) {
      members = new Map();
      this.#members.set(chatId, members);
    }
    return members;
  }
}

function key(chatId: number, messageId: number): string {
  return `${chatId}:${messageId}`;
}

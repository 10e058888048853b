// The DAVE side of one voice call in the fake: what Discord's voice gateway does as MLS delivery
// service and external sender (https://daveprotocol.com), for the bot (over its voice WebSocket,
// binary opcodes 25-30 and JSON 21-24/31) and for the simulated members in the call (DaveMember,
// in process). It proposes adding and removing clients, takes one commit per epoch, relays it
// (op 29) and the welcome (op 30), and executes the transition (op 22) once the bot is ready (op 23).
//
// Simplifications, all on the server side: the group lives as long as the bot's voice session
// (members join it when the bot arrives, rather than the bot joining their older group); which
// client's commit wins is chosen (`committer`) instead of raced; leaf indices are tracked by the
// RFC 9420 rules (removes blank their leaf, adds fill the leftmost blank) instead of a ratchet tree.
import { DaveMember } from './dave-member.ts';
import { MlsExternalSender, splitCommitWelcome, userIdOfKeyPackage } from './mls-external-sender.ts';
import { DaveOp } from './voice-opcodes.ts';
import { WaitableLog } from '../waitable-log.ts';

/** How the fake reaches the bot's voice WebSocket. */
export interface BotLink {
  readonly userId: string;
  sendBinary(op: number, payload: Buffer): void;
  sendJson(op: number, d: unknown): void;
}

export type DaveEvent =
  | { readonly type: 'key-package'; readonly userId: string; readonly at: number }
  | { readonly type: 'proposals'; readonly epoch: bigint; readonly adds: readonly string[]; readonly removes: readonly string[]; readonly at: number }
  | { readonly type: 'commit'; readonly from: string; readonly epoch: bigint; readonly transitionId: number; readonly at: number }
  | { readonly type: 'ignored-commit'; readonly from: string; readonly at: number }
  | { readonly type: 'transition-executed'; readonly transitionId: number; readonly epoch: bigint; readonly members: readonly string[]; readonly at: number }
  | { readonly type: 'invalid-commit-welcome'; readonly userId: string; readonly transitionId: number; readonly at: number }
  | { readonly type: 'prepare-epoch'; readonly at: number };

interface Participant {
  readonly userId: string;
  /** Absent for the bot, which is reached over its WebSocket. */
  readonly member: DaveMember | undefined;
  /** A key package waiting to be added (a new client, or one that re-initialised). */
  keyPackage: Buffer | null;
  inGroup: boolean;
}

interface Round {
  readonly epoch: bigint;
  readonly committer: string;
  readonly removes: readonly { readonly userId: string; readonly leaf: number }[];
  readonly adds: readonly { readonly userId: string; readonly keyPackage: Buffer }[];
  /** Group members that stay: they get the commit (op 29); the added get the welcome (op 30). */
  readonly staying: readonly string[];
  readonly initial: boolean;
}

interface Transition {
  readonly id: number;
  readonly epoch: bigint;
  readonly awaiting: Set<string>;
}

export type Tamper = 'commit' | 'welcome';

export class DaveCallSession {
  readonly channelId: string;
  readonly events = new WaitableLog<DaveEvent>('a DAVE event');
  readonly stats = { transitions: 0, invalidCommitWelcomes: 0, ignoredCommits: 0, memberFailures: 0 };
  /** Whose commit the server takes when several could commit: the bot's (default) or a member's. */
  committer: 'bot' | 'member' = 'bot';
  /**
   * Holds op 29/30 back from the bot this long, while the members already use the new keys:
   * their frames reach a bot that cannot decrypt them yet (discord.js #11441's window, widened).
   */
  botDeliveryDelayMs = 0;
  /**
   * Members apply commits and welcomes this long after the server sends them, and only then say
   * they are ready: they keep the old key meanwhile, and op 22 waits for them.
   */
  memberLagMs = 0;
  /** Corrupts the next commit (op 29) or welcome (op 30) sent to the bot, once. */
  tamperNextToBot: Tamper | null = null;

  readonly #bot: BotLink;
  readonly #sender: MlsExternalSender;
  readonly #participants = new Map<string, Participant>();
  /** userId per MLS leaf index (null: blank leaf). */
  #leaves: (string | null)[] = [];
  #epoch = 0n;
  #round: Round | null = null;
  #transition: Transition | null = null;
  #nextTransitionId = 1;
  #closed = false;
  #reconciling = false;
  #reconcileAgain = false;

  constructor(channelId: string, bot: BotLink, sender: MlsExternalSender) {
    this.channelId = channelId;
    this.#bot = bot;
    this.#sender = sender;
    this.#participants.set(bot.userId, { userId: bot.userId, member: undefined, keyPackage: null, inGroup: false });
  }

  /** The group's epoch (0: no group yet). */
  get epoch(): bigint {
    return this.#epoch;
  }

  /** User ids in the MLS group, by leaf. */
  get groupMembers(): string[] {
    return this.#leaves.filter((id): id is string => id !== null);
  }

  /** Whether a commit or a transition is under way. */
  get changing(): boolean {
    return this.#round !== null || this.#transition !== null;
  }

  member(userId: string): DaveMember | undefined {
    return this.#participants.get(userId)?.member;
  }

  /** After SESSION_DESCRIPTION (op 4, dave_protocol_version 1): op 25, the external sender. */
  start(): void {
    this.#bot.sendBinary(DaveOp.MlsExternalSender, this.#sender.package);
  }

  /** A member is in the call (after op 11 reached the bot): its client joins with a key package. */
  memberJoined(userId: string): void {
    if (this.#closed || this.#participants.has(userId)) return;
    const member = new DaveMember(userId, this.channelId);
    const keyPackage = member.join(this.#sender.package);
    this.#participants.set(userId, { userId, member, keyPackage, inGroup: false });
    this.events.push({ type: 'key-package', userId, at: Date.now() });
    this.#reconcile();
  }

  /** A member left the call (op 13): it is proposed for removal. */
  memberLeft(userId: string): void {
    const participant = this.#participants.get(userId);
    if (!participant?.member) return;
    participant.member.close();
    this.#participants.delete(userId);
    this.#transition?.awaiting.delete(userId);
    this.#reconcile();
  }

  /** A member's client starts over with a fresh key package (as after its own reconnect): a remove and re-add. */
  rekeyMember(userId: string): void {
    const participant = this.#participants.get(userId);
    if (!participant?.member) throw new Error(`fake discord: ${userId} has no DAVE client in the call`);
    participant.keyPackage = participant.member.reinit();
    this.events.push({ type: 'key-package', userId, at: Date.now() });
    this.#reconcile();
  }

  /** op 24 (epoch 1): every client re-initialises and the group is created anew. */
  recreateGroup(): void {
    this.#round = null;
    this.#transition = null;
    this.#epoch = 0n;
    this.#leaves = [];
    this.events.push({ type: 'prepare-epoch', at: Date.now() });
    for (const participant of this.#participants.values()) {
      participant.inGroup = false;
      participant.keyPackage = participant.member ? participant.member.reinit() : null;
    }
    this.#bot.sendJson(DaveOp.PrepareEpoch, { protocol_version: 1, epoch: 1 });
  }

  /** A binary message from the bot: op 26 key package or op 28 commit (+ welcome). */
  onBotBinary(op: number, payload: Buffer): void {
    if (op === DaveOp.MlsKeyPackage) {
      if (userIdOfKeyPackage(payload) !== this.#bot.userId) throw new Error('fake discord: the bot sent a key package for another user');
      const bot = this.#participants.get(this.#bot.userId)!;
      bot.keyPackage = Buffer.from(payload);
      this.events.push({ type: 'key-package', userId: this.#bot.userId, at: Date.now() });
      this.#reconcile();
    } else if (op === DaveOp.MlsCommitWelcome) {
      this.#onCommit(this.#bot.userId, Buffer.from(payload));
    }
  }

  /** A JSON message from the bot: op 23 ready for transition, op 31 invalid commit/welcome. */
  onBotJson(op: number, d: Record<string, unknown>): void {
    const transitionId = Number(d['transition_id']);
    if (op === DaveOp.TransitionReady) this.#ready(this.#bot.userId, transitionId);
    else if (op === DaveOp.MlsInvalidCommitWelcome) {
      this.stats.invalidCommitWelcomes += 1;
      this.events.push({ type: 'invalid-commit-welcome', userId: this.#bot.userId, transitionId, at: Date.now() });
      // The bot re-initialises and sends a new key package (op 26), which removes and re-adds it.
      // It will finish no transition under way, whichever one it names (the library names its
      // last executed one when it gives up after too many decryption failures).
      if (this.#transition) this.#ready(this.#bot.userId, this.#transition.id, false);
    }
  }

  /** Resolves once no change is under way and, if given, the member and the bot are both in the group. */
  async settled(userId?: string, timeoutMs = 5_000): Promise<void> {
    const started = Date.now();
    for (;;) {
      const bot = this.#participants.get(this.#bot.userId)!;
      const member = userId === undefined ? undefined : this.#participants.get(userId);
      const inGroup = userId === undefined || (member?.inGroup === true && member.member?.ready === true && bot.inGroup);
      if (!this.changing && !this.#reconciling && inGroup) return;
      if (this.#closed) throw new Error('fake discord: the DAVE session ended');
      if (Date.now() - started > timeoutMs)
        throw new Error(`fake discord: the DAVE group did not settle within ${timeoutMs} ms (epoch ${this.#epoch}, members ${this.groupMembers.join(', ')})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    this.#closed = true;
    for (const participant of this.#participants.values()) participant.member?.close();
  }

  /** Proposes whatever membership change is pending, one round at a time. */
  #reconcile(): void {
    if (this.#reconciling) {
      this.#reconcileAgain = true;
      return;
    }
    this.#reconciling = true;
    void this.#propose()
      .catch((error: unknown) =>
        queueMicrotask(() => {
          throw error;
        }),
      )
      .finally(() => {
        this.#reconciling = false;
        if (this.#reconcileAgain) {
          this.#reconcileAgain = false;
          this.#reconcile();
        }
      });
  }

  async #propose(): Promise<void> {
    if (this.#closed || this.#round || this.#transition) return;
    const present = [...this.#participants.values()];
    if (this.#epoch === 0n) {
      const joining = present.filter((p) => p.keyPackage !== null);
      if (joining.length < 2) return; // a lone client keeps its pending group: nothing to commit
      const committer = this.#pickCommitter(joining);
      const others = joining.filter((p) => p !== committer);
      const round: Round = {
        epoch: 0n,
        committer: committer.userId,
        initial: true,
        removes: [],
        staying: [committer.userId],
        adds: others.map((p) => ({ userId: p.userId, keyPackage: p.keyPackage! })),
      };
      // Every pending client is asked to add the others; the server will take the committer's commit.
      // A member that would lose that race is not asked.
      const recipients = joining.filter((p) => !p.member || p === committer);
      const payloads = await Promise.all(
        recipients.map(async (recipient) =>
          MlsExternalSender.proposalsPayload(
            await Promise.all(joining.filter((p) => p !== recipient).map((p) => this.#sender.proposeAdd(this.channelId, 0n, p.keyPackage!))),
          ),
        ),
      );
      if (this.#closed || this.#round || this.#transition) return;
      this.#round = round;
      this.events.push({ type: 'proposals', epoch: 0n, adds: round.adds.map((a) => a.userId), removes: [], at: Date.now() });
      for (const [i, recipient] of recipients.entries()) this.#deliverProposals(recipient, payloads[i]!);
      return;
    }
    const removes: { userId: string; leaf: number }[] = [];
    this.#leaves.forEach((userId, leaf) => {
      if (userId === null) return;
      const participant = this.#participants.get(userId);
      // Gone from the call, or back with a fresh key package: its old leaf goes.
      if (!participant || participant.keyPackage !== null) removes.push({ userId, leaf });
    });
    const adds = present.filter((p) => p.keyPackage !== null).map((p) => ({ userId: p.userId, keyPackage: p.keyPackage! }));
    if (removes.length === 0 && adds.length === 0) return;
    const staying = present.filter((p) => p.inGroup && p.keyPackage === null);
    if (staying.length === 0) {
      // Nobody left in the group who could commit: start a new group from the pending clients.
      this.#epoch = 0n;
      this.#leaves = [];
      for (const p of present) p.inGroup = false;
      return this.#propose();
    }
    const committer = this.#pickCommitter(staying);
    const messages = [
      ...(await Promise.all(removes.map((r) => this.#sender.proposeRemove(this.channelId, this.#epoch, r.leaf)))),
      ...(await Promise.all(adds.map((a) => this.#sender.proposeAdd(this.channelId, this.#epoch, a.keyPackage)))),
    ];
    const round: Round = { epoch: this.#epoch, committer: committer.userId, initial: false, removes, adds, staying: staying.map((p) => p.userId) };
    if (this.#closed || this.#round || this.#transition) return;
    this.#round = round;
    this.events.push({ type: 'proposals', epoch: this.#epoch, adds: adds.map((a) => a.userId), removes: removes.map((r) => r.userId), at: Date.now() });
    const payload = MlsExternalSender.proposalsPayload(messages);
    // Every member stores the proposals (the winning commit refers to them); the bot last, so
    // a member's commit is in hand when the committer is a member.
    for (const recipient of staying.filter((p) => p.member)) this.#deliverProposals(recipient, payload);
    const bot = staying.find((p) => !p.member);
    if (bot) this.#deliverProposals(bot, payload);
  }

  #pickCommitter(candidates: readonly Participant[]): Participant {
    const preferred = candidates.find((p) => (this.committer === 'bot' ? !p.member : p.member !== undefined));
    return preferred ?? candidates[0]!;
  }

  #deliverProposals(recipient: Participant, payload: Buffer): void {
    if (!recipient.member) {
      this.#bot.sendBinary(DaveOp.MlsProposals, payload);
      return;
    }
    const recognized = [...this.#participants.keys()];
    try {
      const result = recipient.member.processProposals(payload.subarray(1), recognized);
      if (result) queueMicrotask(() => this.#onCommit(recipient.userId, Buffer.concat(result.welcome ? [result.commit, result.welcome] : [result.commit])));
    } catch (error) {
      this.#memberFailed(recipient, error);
    }
  }

  #onCommit(from: string, payload: Buffer): void {
    const round = this.#round;
    if (this.#closed || !round || round.committer !== from) {
      this.stats.ignoredCommits += 1;
      this.events.push({ type: 'ignored-commit', from, at: Date.now() });
      return;
    }
    const split = splitCommitWelcome(payload);
    if (split.epoch !== round.epoch) {
      this.stats.ignoredCommits += 1;
      this.events.push({ type: 'ignored-commit', from, at: Date.now() });
      return;
    }
    this.#round = null;
    if (round.initial) this.#leaves = [round.committer];
    for (const removed of round.removes) {
      this.#leaves[removed.leaf] = null;
      const participant = this.#participants.get(removed.userId);
      if (participant) participant.inGroup = false;
    }
    for (const added of round.adds) {
      const blank = this.#leaves.indexOf(null);
      if (blank === -1) this.#leaves.push(added.userId);
      else this.#leaves[blank] = added.userId;
      const participant = this.#participants.get(added.userId);
      if (participant && participant.keyPackage === added.keyPackage) participant.keyPackage = null;
      if (participant) participant.inGroup = true;
    }
    while (this.#leaves.length > 0 && this.#leaves.at(-1) === null) this.#leaves.pop();
    const committer = this.#participants.get(round.committer);
    if (committer) {
      committer.inGroup = true;
      // A new group's creator is its first leaf: its key package was used up by creating it.
      if (round.initial) committer.keyPackage = null;
    }
    this.#epoch = round.epoch + 1n;
    const id = this.#nextTransitionId;
    this.#nextTransitionId = id >= 0xffff ? 1 : id + 1;
    const transition: Transition = { id, epoch: this.#epoch, awaiting: new Set() };
    this.#transition = transition;
    this.events.push({ type: 'commit', from, epoch: round.epoch, transitionId: id, at: Date.now() });
    const transitionPrefix = Buffer.alloc(2);
    transitionPrefix.writeUInt16BE(id);
    for (const userId of round.staying) this.#deliverTransition(userId, 'commit', Buffer.concat([transitionPrefix, split.commit]), transition);
    if (round.adds.length > 0) {
      if (!split.welcome) throw new Error('fake discord: a commit that adds members came without a welcome');
      for (const added of round.adds) this.#deliverTransition(added.userId, 'welcome', Buffer.concat([transitionPrefix, split.welcome]), transition);
    }
    if (transition.awaiting.size === 0) this.#execute(transition);
  }

  #deliverTransition(userId: string, kind: Tamper, payload: Buffer, transition: Transition): void {
    const participant = this.#participants.get(userId);
    if (!participant) return;
    if (!participant.member) {
      transition.awaiting.add(userId);
      let message = payload;
      if (this.tamperNextToBot === kind) {
        this.tamperNextToBot = null;
        message = Buffer.from(payload);
        // Past the transition id and the MLS framing: a flipped byte the MLS library must reject.
        const at = Math.min(message.length - 1, 40);
        message[at] = (message[at] ?? 0) ^ 0xff;
      }
      const send = () => {
        if (!this.#closed) this.#bot.sendBinary(kind === 'commit' ? DaveOp.MlsAnnounceCommitTransition : DaveOp.MlsWelcome, message);
      };
      if (this.botDeliveryDelayMs > 0) setTimeout(send, this.botDeliveryDelayMs);
      else send();
      return;
    }
    const member = participant.member;
    const apply = () => {
      if (this.#closed || this.#participants.get(userId) !== participant) return;
      try {
        if (kind === 'commit') member.processCommit(payload.subarray(2));
        else member.processWelcome(payload.subarray(2));
      } catch (error) {
        this.#memberFailed(participant, error);
      }
    };
    if (this.memberLagMs > 0) {
      // A lagging member is ready (op 23) only once it has applied the message.
      transition.awaiting.add(userId);
      setTimeout(() => {
        apply();
        this.#ready(userId, transition.id);
      }, this.memberLagMs);
    } else apply();
  }

  #ready(userId: string, transitionId: number, execute = true): void {
    const transition = this.#transition;
    if (!transition || transition.id !== transitionId) return;
    transition.awaiting.delete(userId);
    if (transition.awaiting.size === 0) this.#execute(transition, execute);
  }

  #execute(transition: Transition, sendToBot = true): void {
    if (this.#transition !== transition) return;
    this.#transition = null;
    this.stats.transitions += 1;
    if (sendToBot && this.#participants.get(this.#bot.userId)?.inGroup) this.#bot.sendJson(DaveOp.ExecuteTransition, { transition_id: transition.id });
    this.events.push({ type: 'transition-executed', transitionId: transition.id, epoch: transition.epoch, members: this.groupMembers, at: Date.now() });
    this.#reconcile();
  }

  /** A member's client could not apply a message: it starts over, as a client does after op 31. */
  #memberFailed(participant: Participant, error: unknown): void {
    this.stats.memberFailures += 1;
    this.events.push({ type: 'invalid-commit-welcome', userId: participant.userId, transitionId: this.#transition?.id ?? 0, at: Date.now() });
    if (process.env['VOCALIS_TEST_LOG']) console.error(`fake discord: DAVE member ${participant.userId} failed:`, error);
    participant.keyPackage = participant.member!.reinit();
    this.#reconcile();
  }
}

// A simulated member's DAVE client: @snazzah/davey's DAVESession (the implementation
// @discordjs/voice uses for the bot), driven the way a Discord client drives libdave. It joins
// the call's MLS group, end-to-end encrypts the Opus it sends and decrypts what the bot sends.
import { DAVESession, type MediaType, type ProposalsOperationType } from '@snazzah/davey';
import { SILENCE_FRAME } from './rtp-crypto.ts';

/** davey's MediaType.AUDIO and ProposalsOperationType.APPEND (ambient const enums, so spelled out). */
const AUDIO = 0 as MediaType;
const APPEND = 0 as ProposalsOperationType;
/** Every DAVE-encrypted frame ends with this magic marker (https://daveprotocol.com/#payload-format). */
const DAVE_MAGIC_MARKER = 0xfafa;

export const DAVE_PROTOCOL_VERSION = 1;

/** Whether an Opus payload carries a DAVE footer (E2EE) rather than plain Opus. */
export function isDaveFrame(payload: Buffer): boolean {
  return payload.length > 2 && payload.readUInt16BE(payload.length - 2) === DAVE_MAGIC_MARKER;
}

export interface CommitWelcome {
  readonly commit: Buffer;
  readonly welcome: Buffer | undefined;
}

export class DaveMember {
  readonly userId: string;
  readonly #channelId: string;
  readonly #session: DAVESession;
  readonly stats = { encrypted: 0, decrypted: 0, decryptFailures: 0, commitsProcessed: 0, welcomesProcessed: 0 };
  /** When true, frames go out as plain Opus although the member is in the group (discord.js #11445's edge). */
  sendUnencrypted = false;

  constructor(userId: string, channelId: string) {
    this.userId = userId;
    this.#channelId = channelId;
    this.#session = new DAVESession(DAVE_PROTOCOL_VERSION, userId, channelId);
  }

  /** Whether the member holds the group's current keys (it has been welcomed or committed). */
  get ready(): boolean {
    return this.#session.ready;
  }

  get epoch(): bigint | null {
    return this.#session.epoch;
  }

  get ownLeafIndex(): number | null {
    return this.#session.ownLeafIndex;
  }

  get voicePrivacyCode(): string {
    return this.#session.voicePrivacyCode;
  }

  /** op 25, then op 26 as a client does on joining: returns the key package to hand to the server. */
  join(externalSenderPackage: Buffer): Buffer {
    this.#session.setExternalSender(externalSenderPackage);
    return this.#session.getSerializedKeyPackage();
  }

  /** A fresh MLS state and key package (what a client does after op 24 or an invalid transition). */
  reinit(): Buffer {
    this.#session.reinit(DAVE_PROTOCOL_VERSION, this.userId, this.#channelId);
    return this.#session.getSerializedKeyPackage();
  }

  /** op 27 (append): returns what the client would send as op 28, if it commits. */
  processProposals(vector: Buffer, recognizedUserIds: readonly string[]): CommitWelcome | undefined {
    const result = this.#session.processProposals(APPEND, vector, [...recognizedUserIds]);
    return result.commit ? { commit: result.commit, welcome: result.welcome } : undefined;
  }

  /** op 29. Throws when the commit is invalid (the client would answer op 31). */
  processCommit(commit: Buffer): void {
    this.#session.processCommit(commit);
    this.stats.commitsProcessed += 1;
  }

  /** op 30. Throws when the welcome is invalid (the client would answer op 31). */
  processWelcome(welcome: Buffer): void {
    this.#session.processWelcome(welcome);
    this.stats.welcomesProcessed += 1;
  }

  /** The Opus payload this member puts in its RTP packet: E2EE once in the group; silence stays plain, as in DAVE. */
  encrypt(opus: Buffer): Buffer {
    if (!this.#session.ready || this.sendUnencrypted || opus.equals(SILENCE_FRAME)) return opus;
    this.stats.encrypted += 1;
    return this.#session.encryptOpus(opus);
  }

  /** Decrypts a DAVE frame the bot sent; throws when this member cannot (wrong or missing key). */
  decrypt(fromUserId: string, payload: Buffer): Buffer {
    try {
      const opus = this.#session.decrypt(fromUserId, AUDIO, payload);
      this.stats.decrypted += 1;
      return opus;
    } catch (error) {
      this.stats.decryptFailures += 1;
      throw error;
    }
  }

  /** The bot's pairwise verification code as this member sees it (equal on both sides when the keys match). */
  verificationCode(userId: string): Promise<string> {
    return this.#session.getVerificationCode(userId);
  }

  close(): void {
    this.#session.reset();
  }
}

// The voice gateway's MLS side of DAVE, built on ts-mls: the external sender whose signed
// proposals (Add a joining client's key package, Remove a leaving one) every DAVE client
// accepts, and the parsing the delivery service needs (whose key package, a commit's epoch,
// where a commit ends and its welcome starts). No MLS is implemented here, only wired.
import {
  decodeMlsMessage,
  encodeExternalSender,
  encodeMlsMessage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  proposeExternal,
  type CiphersuiteImpl,
  type ExternalSender,
  type GroupInfo,
  type Proposal,
} from 'ts-mls';
import { decodeKeyPackage } from 'ts-mls/keyPackage.js';
import { varLenDataEncoder } from 'ts-mls/codec/variableLength.js';
import { encode } from 'ts-mls/codec/tlsEncoder.js';

/** DAVE protocol version 1 is MLS ciphersuite 2 (https://daveprotocol.com/#ciphersuite). */
const DAVE_V1_CIPHERSUITE = 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256';
const encodeVarLen = encode(varLenDataEncoder);

/** op 27's first byte. */
export const ProposalsOperation = { Append: 0, Revoke: 1 } as const;

/** The 8-byte big-endian channel id, DAVE's MLS group id. */
export function groupIdOf(channelId: string): Uint8Array {
  const id = Buffer.alloc(8);
  id.writeBigUInt64BE(BigInt(channelId));
  return id;
}

/** A DAVE client's user id: its basic credential's identity, the 8-byte big-endian snowflake. */
export function userIdOfKeyPackage(keyPackage: Uint8Array): string {
  const decoded = decodeKeyPackage(keyPackage, 0);
  if (!decoded) throw new Error('fake discord: not an MLS key package');
  const credential = decoded[0].leafNode.credential;
  if (credential.credentialType !== 'basic' || credential.identity.length !== 8)
    throw new Error('fake discord: a DAVE key package needs an 8-byte basic credential');
  return Buffer.from(credential.identity).readBigUInt64BE().toString();
}

export interface SplitCommit {
  /** The commit as the MLSMessage the client sent (what op 29 relays). */
  readonly commit: Buffer;
  /** The Welcome that follows it when the commit adds members (what op 30 relays). */
  readonly welcome: Buffer | undefined;
  /** The epoch the commit was made in. */
  readonly epoch: bigint;
}

/** Splits an op 28 payload: an MLSMessage commit, then optionally a Welcome. */
export function splitCommitWelcome(payload: Uint8Array): SplitCommit {
  const decoded = decodeMlsMessage(payload, 0);
  if (!decoded) throw new Error('fake discord: op 28 does not start with an MLS message');
  const [message, length] = decoded;
  if (message.wireformat !== 'mls_public_message' || message.publicMessage.content.contentType !== 'commit') {
    throw new Error('fake discord: op 28 does not carry a public commit');
  }
  const rest = payload.subarray(length);
  return {
    commit: Buffer.from(payload.subarray(0, length)),
    welcome: rest.length > 0 ? Buffer.from(rest) : undefined,
    epoch: message.publicMessage.content.epoch,
  };
}

export class MlsExternalSender {
  readonly #cs: CiphersuiteImpl;
  readonly #keys: { readonly publicKey: Uint8Array; readonly signKey: Uint8Array };
  readonly #sender: ExternalSender;

  private constructor(cs: CiphersuiteImpl, keys: { publicKey: Uint8Array; signKey: Uint8Array }) {
    this.#cs = cs;
    this.#keys = keys;
    this.#sender = { signaturePublicKey: keys.publicKey, credential: { credentialType: 'basic', identity: new TextEncoder().encode('fake-discord-voice') } };
  }

  static async create(): Promise<MlsExternalSender> {
    const cs = await getCiphersuiteImpl(getCiphersuiteFromName(DAVE_V1_CIPHERSUITE));
    return new MlsExternalSender(cs, await cs.signature.keygen());
  }

  /** op 25's payload: the serialized ExternalSender every client puts in its group context. */
  get package(): Buffer {
    return Buffer.from(encodeExternalSender(this.#sender));
  }

  /** An Add proposal for a client's key package, signed by the external sender, as an MLSMessage. */
  proposeAdd(channelId: string, epoch: bigint, keyPackage: Uint8Array): Promise<Buffer> {
    const decoded = decodeKeyPackage(keyPackage, 0);
    if (!decoded) throw new Error('fake discord: not an MLS key package');
    return this.#propose(channelId, epoch, { proposalType: 'add', add: { keyPackage: decoded[0] } });
  }

  /** A Remove proposal for the member at a leaf, signed by the external sender, as an MLSMessage. */
  proposeRemove(channelId: string, epoch: bigint, leafIndex: number): Promise<Buffer> {
    return this.#propose(channelId, epoch, { proposalType: 'remove', remove: { removed: leafIndex } });
  }

  /** op 27's payload: the operation byte, then the proposal messages as one MLS variable-length vector. */
  static proposalsPayload(messages: readonly Buffer[]): Buffer {
    return Buffer.concat([Buffer.from([ProposalsOperation.Append]), Buffer.from(encodeVarLen(Buffer.concat(messages)))]);
  }

  async #propose(channelId: string, epoch: bigint, proposal: Proposal): Promise<Buffer> {
    // External proposals are signed without the group context (RFC 9420 §6.1), so the group id,
    // the epoch and the external_senders extension are all ts-mls needs of the group here.
    const groupInfo: GroupInfo = {
      groupContext: {
        version: 'mls10',
        cipherSuite: DAVE_V1_CIPHERSUITE,
        groupId: groupIdOf(channelId),
        epoch,
        treeHash: new Uint8Array(),
        confirmedTranscriptHash: new Uint8Array(),
        extensions: [{ extensionType: 'external_senders', extensionData: encodeExternalSender(this.#sender) }],
      },
      extensions: [],
      confirmationTag: new Uint8Array(),
      signer: 0,
      signature: new Uint8Array(),
    };
    const message = await proposeExternal(groupInfo, proposal, this.#keys.publicKey, this.#keys.signKey, this.#cs);
    return Buffer.from(encodeMlsMessage(message));
  }
}

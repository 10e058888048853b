// Voice gateway v8 opcodes the fake speaks, DAVE's included (https://daveprotocol.com/#voice-gateway-opcodes).
export const VoiceOp = {
  Identify: 0,
  SelectProtocol: 1,
  Ready: 2,
  Heartbeat: 3,
  SessionDescription: 4,
  Speaking: 5,
  HeartbeatAck: 6,
  Resume: 7,
  Hello: 8,
  Resumed: 9,
  ClientsConnect: 11,
  ClientDisconnect: 13,
} as const;

/**
 * DAVE opcodes, as @discordjs/voice 0.19 (discord-api-types VoiceOpcodes) numbers them. 25-30 are
 * binary: server → client `[seq u16][op u8][payload]`, client → server `[op u8][payload]`.
 */
export const DaveOp = {
  /** JSON, server: { transition_id, protocol_version } (a downgrade to 0 or an upgrade). */
  PrepareTransition: 21,
  /** JSON, server: { transition_id }: switch to the prepared keys now. */
  ExecuteTransition: 22,
  /** JSON, client: { transition_id }: ready to execute it. */
  TransitionReady: 23,
  /** JSON, server: { protocol_version, epoch }: epoch 1 means re-initialise, a new group follows. */
  PrepareEpoch: 24,
  /** Binary, server: the MLS ExternalSender (signature key + credential) of the voice gateway. */
  MlsExternalSender: 25,
  /** Binary, client: its MLS KeyPackage. */
  MlsKeyPackage: 26,
  /** Binary, server: operation byte (0 append, 1 revoke) + proposal MLSMessages (or refs) as one vector. */
  MlsProposals: 27,
  /** Binary, client: its commit (MLSMessage), then a Welcome when the commit adds members. */
  MlsCommitWelcome: 28,
  /** Binary, server: transition id (u16) + the winning commit. */
  MlsAnnounceCommitTransition: 29,
  /** Binary, server: transition id (u16) + the Welcome for clients being added. */
  MlsWelcome: 30,
  /** JSON, client: { transition_id }: the commit or welcome could not be processed; it re-initialises. */
  MlsInvalidCommitWelcome: 31,
} as const;

/** Close codes with meaning to @discordjs/voice 0.19. */
export const VoiceCloseCode = {
  /** Resumable (as is anything below 4000). */
  SessionTimeout: 4009,
  /** Kicked / channel deleted: the connection goes Disconnected and does not retry by itself. */
  Disconnected: 4014,
  /** Voice server crashed: the client resumes. */
  ServerCrashed: 4015,
  AuthenticationFailed: 4004,
  SessionNoLongerValid: 4006,
  UnknownEncryptionMode: 4016,
  /** What real Discord answers to clients without DAVE since March 2026. */
  E2eeRequired: 4017,
} as const;

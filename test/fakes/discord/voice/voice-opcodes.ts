// Voice gateway v8 opcodes the fake speaks (DAVE opcodes 21-31 are never sent: E2EE is refused).
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

/**
 * Hermetic Telegram Bot API for tests: point the real telegraf client at
 * `fake.apiRoot` and drive it with `fake.pushUpdate(fake.updates.command('start'))`.
 */
export { FakeTelegram, startFakeTelegram, type FakeTelegramOptions, type SentVoice } from './fake-telegram.ts';
export { DEFAULT_USER, groupChat, makeUser, privateChat, UpdateBuilders } from './update-builders.ts';
export type { AudioOptions, CallbackOptions, MessageOptions, VoiceOptions } from './update-builders.ts';
export type { FakeChat } from './chat-store.ts';
export type { AddFileOptions } from './file-store.ts';
export { MAX_DOWNLOAD_BYTES } from './file-store.ts';
export type { FaultScope } from './fault-injector.ts';
export { REAL_FLOOD_LIMITS, type FloodLimits } from './flood-limiter.ts';
export type { ApiResponse, RecordedCall, UploadedFile } from './types.ts';

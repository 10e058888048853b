/**
 * Durable half of cancellation. Pub/sub messages are lost while a worker is
 * disconnected, so cancel() also sets this short-lived key; workers check it when a
 * run starts and poll it while the run is active.
 */
export const CANCEL_FLAG_PREFIX = 'vocalis:finetune:cancel:';

/** Long enough to outlive any worker reconnect; the key is deleted when it is acted on. */
export const CANCEL_FLAG_TTL_MS = 24 * 3600 * 1000;

export function cancelFlagKey(bullJobId: string): string {
  return `${CANCEL_FLAG_PREFIX}${bullJobId}`;
}

/** SCAN pattern for every flag of a voice (BullMQ ids are `<voiceId>.<jobId>`). */
export function cancelFlagPattern(voiceId: string): string {
  return `${CANCEL_FLAG_PREFIX}${voiceId}.*`;
}

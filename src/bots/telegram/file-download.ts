import type { Outbox } from './outbox.ts';

/** The Bot API serves bots files up to 20 MB through getFile. */
export const BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024;

export class FileDownloadError extends Error {
  readonly reason: 'too_big' | 'unavailable';
  constructor(reason: FileDownloadError['reason'], message: string) {
    super(message);
    this.name = 'FileDownloadError';
    this.reason = reason;
  }
}

/**
 * Downloads a file a user sent: getFile (through the outbox), then the bytes, never
 * more than `maxBytes` — the declared size is checked first and the stream is cut off
 * if it grows past it. The URL holds the bot token, so it is never logged or thrown.
 */
export async function downloadFile(outbox: Outbox, fileId: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  let url: URL;
  try {
    url = await outbox.fileLink(fileId);
  } catch (error) {
    const description = (error as { response?: { description?: unknown } }).response?.description;
    if (typeof description === 'string' && /file is too big/i.test(description)) throw new FileDownloadError('too_big', 'getFile refused: file too big');
    throw new FileDownloadError('unavailable', 'getFile failed');
  }
  let response: Response;
  try {
    response = await fetch(url, signal ? { signal } : {});
  } catch {
    throw new FileDownloadError('unavailable', 'file download failed');
  }
  if (!response.ok || !response.body) throw new FileDownloadError('unavailable', `file download answered ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await response.body.cancel();
    throw new FileDownloadError('too_big', 'file larger than the download limit');
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of response.body) {
    total += part.byteLength;
    if (total > maxBytes) throw new FileDownloadError('too_big', 'file grew past the download limit');
    parts.push(part);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return bytes;
}

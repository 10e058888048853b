import { AdapterError } from './adapter-error.ts';

/** Largest upload taken as a sample; Discord's free upload limit is 10 MB, Nitro's 500 MB. */
export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;

export interface UploadLike {
  readonly url: string;
  readonly size: number;
  readonly contentType: string | null;
  readonly name: string;
}

const AUDIO_NAME = /\.(ogg|oga|opus|mp3|m4a|aac|wav|flac|webm|mp4|mov|mkv)$/i;

/**
 * Refuses what is obviously not a sample before downloading it (too large, not audio
 * or video), then downloads with the same cap enforced on the bytes actually received.
 */
export async function downloadUpload(upload: UploadLike, signal?: AbortSignal): Promise<Uint8Array> {
  const mb = Math.round(MAX_UPLOAD_BYTES / (1024 * 1024));
  if (upload.size > MAX_UPLOAD_BYTES) throw new AdapterError('discord.upload.too_large', { mb });
  const type = upload.contentType ?? '';
  if (!type.startsWith('audio/') && !type.startsWith('video/') && !AUDIO_NAME.test(upload.name)) throw new AdapterError('discord.upload.not_audio');
  const response = await fetch(upload.url, signal ? { signal } : {});
  if (!response.ok || !response.body) throw new Error(`attachment download failed with HTTP ${response.status}`);
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of response.body) {
    total += part.byteLength;
    if (total > MAX_UPLOAD_BYTES) throw new AdapterError('discord.upload.too_large', { mb });
    parts.push(part);
  }
  return Buffer.concat(parts);
}

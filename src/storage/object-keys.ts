import { assertSafeFileName, assertSafeId, UnsafePathError } from './data-paths.ts';

/**
 * Where each encrypted file lives in a `BlobStore`, and the identity bound into its ciphertext.
 * Keys mirror the data directory's layout below `<data>/` and are built from internal ids only
 * (`u_…`, `v_…`, `clip_…`), checked against strict patterns: no platform id, user text or `..`
 * ever becomes a key.
 *
 *   users/<userId>/samples/<clipId>.enc
 *   users/<userId>/voices/<voiceId>/v<version>/<name>.enc
 *   users/<userId>/enrolment/<consentId>.enc
 */

const ENCRYPTED_SUFFIX = '.enc';
/** One segment of a key: what the builders below produce, and nothing a path could escape with. */
const KEY_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

function assertVersion(version: number): number {
  if (!Number.isSafeInteger(version) || version < 0) throw new UnsafePathError('version');
  return version;
}

/** Everything of one user: erasure deletes this prefix and proves it empty. */
export function userPrefix(userId: string): string {
  return `users/${assertSafeId(userId, 'user id')}/`;
}

export function clipKey(userId: string, clipId: string): string {
  return `${userPrefix(userId)}samples/${assertSafeId(clipId, 'clip id')}${ENCRYPTED_SUFFIX}`;
}

export function voiceVersionPrefix(userId: string, voiceId: string, version: number): string {
  return `${userPrefix(userId)}voices/${assertSafeId(voiceId, 'voice id')}/v${assertVersion(version)}/`;
}

export function voiceFileKey(userId: string, voiceId: string, version: number, name: string): string {
  return `${voiceVersionPrefix(userId, voiceId, version)}${assertSafeFileName(name)}${ENCRYPTED_SUFFIX}`;
}

export function enrolmentKey(userId: string, consentId: string): string {
  return `${userPrefix(userId)}enrolment/${assertSafeId(consentId, 'consent id')}${ENCRYPTED_SUFFIX}`;
}

/**
 * The identity bound into a clip's ciphertext, so a file cannot pose as another. Its
 * `sample` segment is part of every stored clip's authenticated data: it stays.
 */
export function clipIdentity(userId: string, clipId: string): string {
  return `user/${assertSafeId(userId, 'user id')}/sample/${assertSafeId(clipId, 'clip id')}`;
}

export function voiceFileIdentity(userId: string, voiceId: string, version: number, name: string): string {
  return `user/${assertSafeId(userId, 'user id')}/voice/${assertSafeId(voiceId, 'voice id')}/v${assertVersion(version)}/${assertSafeFileName(name)}`;
}

export function enrolmentIdentity(userId: string, consentId: string): string {
  return `user/${assertSafeId(userId, 'user id')}/enrolment/${assertSafeId(consentId, 'consent id')}`;
}

/**
 * The segments of an object key or prefix (a prefix ends with `/`), each checked: stores call
 * this before a key touches a path or a request, so only keys shaped like the ones above pass.
 */
export function keySegments(key: string, kind: 'key' | 'prefix'): string[] {
  if (typeof key !== 'string') throw new UnsafePathError('object key');
  const body = kind === 'prefix' ? key.slice(0, -1) : key;
  if (kind === 'prefix' && !key.endsWith('/')) throw new UnsafePathError('object prefix');
  const segments = body.split('/');
  if (!segments.every((s) => KEY_SEGMENT.test(s) && !s.includes('..'))) throw new UnsafePathError('object key');
  return segments;
}

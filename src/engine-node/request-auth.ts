import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ReplayGuard } from './replay-guard.ts';

/**
 * Requests to an engine node are signed with the shared secret (VOCALIS_ENGINE_SECRET):
 * an HMAC-SHA256 over the method, path, the node the request is meant for, a timestamp,
 * a random nonce and the body's hash. A node accepts a signature only for itself, only
 * within the freshness window, and each nonce only once, so a captured request can be
 * replayed neither later, nor to the same node, nor to another node. The secret itself
 * never crosses the wire (no bearer token to lose on a plain-text link).
 */
export const FRESHNESS_MS = 30_000;

export const AUTH_HEADERS = {
  node: 'x-vocalis-node',
  timestamp: 'x-vocalis-timestamp',
  nonce: 'x-vocalis-nonce',
  signature: 'x-vocalis-signature',
} as const;

export interface SignedParts {
  readonly method: string;
  readonly path: string;
  readonly nodeId: string;
  readonly timestamp: number;
  readonly nonce: string;
  readonly body: Uint8Array;
}

export type AuthVerdict =
  | { readonly status: 'accepted'; readonly nonce: string }
  | { readonly status: 'refused'; readonly reason: 'missing' | 'malformed' | 'wrong_node' | 'stale' | 'bad_signature' | 'replayed' };

const NONCE = /^[0-9a-f]{32}$/;
const SIGNATURE = /^[0-9a-f]{64}$/;

export function signature(secret: string, parts: SignedParts): string {
  const bodyHash = createHash('sha256').update(parts.body).digest('hex');
  const canonical = ['vocalis-engine-v1', parts.method.toUpperCase(), parts.path, parts.nodeId, String(parts.timestamp), parts.nonce, bodyHash].join('\n');
  return createHmac('sha256', secret).update(canonical).digest('hex');
}

/** The headers of one signed request to `nodeId`. */
export function signRequest(
  secret: string,
  request: { method: string; path: string; nodeId: string; body: Uint8Array },
  now = Date.now(),
): Record<string, string> {
  const nonce = randomBytes(16).toString('hex');
  const parts: SignedParts = { ...request, timestamp: now, nonce };
  return {
    [AUTH_HEADERS.node]: request.nodeId,
    [AUTH_HEADERS.timestamp]: String(now),
    [AUTH_HEADERS.nonce]: nonce,
    [AUTH_HEADERS.signature]: signature(secret, parts),
  };
}

/** A node's side: checks signature, addressee, freshness and first use, in that order (a forged request consumes no nonce). */
export class RequestVerifier {
  readonly #secret: string;
  readonly #nodeId: string;
  readonly #replays = new ReplayGuard(2 * FRESHNESS_MS);

  constructor(secret: string, nodeId: string) {
    this.#secret = secret;
    this.#nodeId = nodeId;
  }

  verify(
    request: { method: string; path: string; headers: Readonly<Record<string, string | string[] | undefined>>; body: Uint8Array },
    now = Date.now(),
  ): AuthVerdict {
    const header = (name: string): string | undefined => {
      const value = request.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const nodeId = header(AUTH_HEADERS.node);
    const timestampText = header(AUTH_HEADERS.timestamp);
    const nonce = header(AUTH_HEADERS.nonce);
    const given = header(AUTH_HEADERS.signature);
    if (nodeId === undefined || timestampText === undefined || nonce === undefined || given === undefined) return { status: 'refused', reason: 'missing' };
    const timestamp = Number(timestampText);
    if (!/^\d{1,16}$/.test(timestampText) || !NONCE.test(nonce) || !SIGNATURE.test(given)) return { status: 'refused', reason: 'malformed' };
    const expected = signature(this.#secret, { method: request.method, path: request.path, nodeId, timestamp, nonce, body: request.body });
    if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given, 'hex'))) return { status: 'refused', reason: 'bad_signature' };
    if (nodeId !== this.#nodeId) return { status: 'refused', reason: 'wrong_node' };
    if (Math.abs(now - timestamp) > FRESHNESS_MS) return { status: 'refused', reason: 'stale' };
    if (!this.#replays.firstUse(nonce, now)) return { status: 'refused', reason: 'replayed' };
    return { status: 'accepted', nonce };
  }
}

import type { Redis } from 'ioredis';

/** Where nodes announce themselves: one hash per node, alive while its key has not expired. */
export const NODE_KEY_PREFIX = 'vocalis:engine:node:';
export const DEFAULT_NODE_TTL_MS = 5000;

export function nodeKey(nodeId: string): string {
  return `${NODE_KEY_PREFIX}${nodeId}`;
}

/**
 * An engine node's entry in Redis (`vocalis:engine:node:<nodeId>` → address, startedAt),
 * with a short TTL renewed by a heartbeat: a node that dies drops out within the TTL, one
 * that stops cleanly removes it at once, before it stops serving.
 */
export class NodeRegistration {
  readonly #redis: Redis;
  readonly #nodeId: string;
  readonly #address: string;
  readonly #ttlMs: number;
  readonly #startedAt = String(Date.now());
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: { redis: Redis; nodeId: string; address: string; ttlMs?: number; onError: (error: unknown) => void }) {
    this.#redis = deps.redis;
    this.#nodeId = deps.nodeId;
    this.#address = deps.address;
    this.#ttlMs = deps.ttlMs ?? DEFAULT_NODE_TTL_MS;
    this.#onError = deps.onError;
  }

  async start(): Promise<void> {
    await this.#beat();
    // Three beats per TTL: one lost beat (a slow Redis) does not drop a live node.
    this.#timer = setInterval(() => this.#beat().catch(this.#onError), Math.max(50, Math.floor(this.#ttlMs / 3)));
    this.#timer.unref();
  }

  /** Leaves the directory now: clients stop choosing this node with their next look-up. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#redis.del(nodeKey(this.#nodeId));
  }

  async #beat(): Promise<void> {
    await this.#redis
      .multi()
      .hset(nodeKey(this.#nodeId), { address: this.#address, startedAt: this.#startedAt })
      .pexpire(nodeKey(this.#nodeId), this.#ttlMs)
      .exec();
  }
}

import type { Redis } from 'ioredis';
import { NODE_KEY_PREFIX } from './node-registration.ts';
import { rankNodes } from './rendezvous.ts';

export interface EngineNode {
  readonly nodeId: string;
  /** `host:port` as the node advertised it. */
  readonly address: string;
  /** When this run of the node started: a restarted node is a new one, trusted again. */
  readonly startedAt: string;
}

/** How long the list of live nodes is reused before Redis is asked again. */
const LIST_TTL_MS = 1000;
/** How long a node that failed a request is passed over (unless it restarts): longer than its key's TTL. */
const SUSPECT_MS = 15_000;

/**
 * The live engine nodes as a client sees them: the registrations in Redis, minus the nodes
 * this client just saw fail (refused a connection, broke a stream), ranked per voice by
 * rendezvous hashing. A failed node's key may live on for a TTL; passing it over meanwhile
 * is what sends the next request to the next node in the voice's order at once.
 */
export class NodeDirectory {
  readonly #redis: Redis;
  readonly #suspects = new Map<string, { startedAt: string; until: number }>();
  #cached: { nodes: EngineNode[]; at: number } | undefined;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /** The nodes to try for a voice, best first. */
  async forVoice(voiceId: string): Promise<EngineNode[]> {
    const now = Date.now();
    const live = (await this.live()).filter((node) => {
      const suspect = this.#suspects.get(node.nodeId);
      return !suspect || suspect.startedAt !== node.startedAt || suspect.until < now;
    });
    return rankNodes(voiceId, live);
  }

  /** Marks a node as failed for this client (a connection refused, a stream broken). */
  suspect(node: EngineNode): void {
    this.#suspects.set(node.nodeId, { startedAt: node.startedAt, until: Date.now() + SUSPECT_MS });
    this.#cached = undefined;
  }

  async live(): Promise<EngineNode[]> {
    if (this.#cached && Date.now() - this.#cached.at < LIST_TTL_MS) return this.#cached.nodes;
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.#redis.scan(cursor, 'MATCH', `${NODE_KEY_PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const nodes: EngineNode[] = [];
    if (keys.length > 0) {
      const pipeline = this.#redis.pipeline();
      for (const key of keys) pipeline.hgetall(key);
      const results = (await pipeline.exec()) ?? [];
      results.forEach(([error, value], i) => {
        const entry = value as Record<string, string> | null;
        // A key that expired between SCAN and HGETALL reads as an empty hash.
        if (error || !entry?.['address'] || !entry['startedAt']) return;
        nodes.push({ nodeId: keys[i]!.slice(NODE_KEY_PREFIX.length), address: entry['address'], startedAt: entry['startedAt'] });
      });
    }
    this.#cached = { nodes, at: Date.now() };
    return nodes;
  }
}

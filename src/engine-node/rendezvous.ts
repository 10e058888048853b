import { createHash } from 'node:crypto';

/**
 * Rendezvous (highest-random-weight) hashing: every client ranks the live nodes for a voice
 * the same way, without talking to each other, so a voice is loaded on one node. When that
 * node goes, only its voices move (each to its own next node); the others stay where they are.
 */
export function rankNodes<N extends { readonly nodeId: string }>(voiceId: string, nodes: readonly N[]): N[] {
  const weighted = nodes.map((node) => ({ node, weight: weight(node.nodeId, voiceId) }));
  weighted.sort((a, b) => (a.weight === b.weight ? a.node.nodeId.localeCompare(b.node.nodeId) : a.weight > b.weight ? -1 : 1));
  return weighted.map((w) => w.node);
}

function weight(nodeId: string, voiceId: string): bigint {
  return createHash('sha256').update(nodeId).update('\0').update(voiceId).digest().readBigUInt64BE(0);
}

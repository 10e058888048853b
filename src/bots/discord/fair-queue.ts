/**
 * FIFO per user, round-robin between users: after one user's item plays, the next
 * user with something queued goes first, so nobody can hog a guild's voice by
 * queueing many utterances. Pure data structure; GuildSpeechQueue drives playback.
 */
export class FairQueue<T> {
  /** Users in serving order, each with their own FIFO. */
  readonly #lanes = new Map<string, T[]>();
  readonly #order: string[] = [];

  get size(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.length;
    return n;
  }

  countFor(user: string): number {
    return this.#lanes.get(user)?.length ?? 0;
  }

  /** Adds an item; returns its 1-based position in the order it will be served. */
  push(user: string, item: T): number {
    const lane = this.#lanes.get(user);
    if (lane) lane.push(item);
    else {
      this.#lanes.set(user, [item]);
      this.#order.push(user);
    }
    return this.positionOf(item);
  }

  /** Takes the next item, and moves its user to the back of the rotation. */
  shift(): T | undefined {
    const user = this.#order.shift();
    if (user === undefined) return undefined;
    const lane = this.#lanes.get(user) ?? [];
    const item = lane.shift();
    if (lane.length > 0) this.#order.push(user);
    else this.#lanes.delete(user);
    return item;
  }

  /** Removes every item matching `predicate`; returns them. */
  remove(predicate: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (const [user, lane] of this.#lanes) {
      const kept = lane.filter((item) => {
        if (!predicate(item)) return true;
        removed.push(item);
        return false;
      });
      if (kept.length > 0) this.#lanes.set(user, kept);
      else {
        this.#lanes.delete(user);
        const at = this.#order.indexOf(user);
        if (at >= 0) this.#order.splice(at, 1);
      }
    }
    return removed;
  }

  /** Serving order if nothing else were added. */
  toArray(): T[] {
    const lanes = this.#order.map((user) => [...(this.#lanes.get(user) ?? [])]);
    const out: T[] = [];
    for (let round = 0; lanes.some((lane) => lane.length > round); round++) {
      for (const lane of lanes) {
        const item = lane[round];
        if (item !== undefined) out.push(item);
      }
    }
    return out;
  }

  positionOf(item: T): number {
    return this.toArray().indexOf(item) + 1;
  }
}

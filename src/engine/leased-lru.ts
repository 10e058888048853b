/**
 * A cache of loaded things (voices, ONNX sessions) bounded by resident bytes. Callers
 * lease an entry and release it when their request ends; an entry in use is never
 * evicted by the bound, and concurrent requests for one key share one load.
 */
export interface Lease<T> {
  readonly value: T;
  release(): void;
}

interface Entry<T> {
  readonly tag: string;
  readonly loading: Promise<T>;
  bytes: number;
  users: number;
}

export class LeasedLru<T> {
  readonly #maxBytes: number;
  readonly #dispose: (value: T) => void | Promise<void>;
  readonly #entries = new Map<string, Entry<T>>();
  #bytes = 0;

  constructor(maxBytes: number, dispose: (value: T) => void | Promise<void>) {
    this.#maxBytes = maxBytes;
    this.#dispose = dispose;
  }

  get residentBytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Leases `key`, loading it on first use. `tag` groups entries for `evict` (e.g. a voice id). */
  async acquire(key: string, load: () => Promise<{ value: T; bytes: number }>, tag = key): Promise<Lease<T>> {
    let entry = this.#entries.get(key);
    if (entry) {
      // Re-insert: Map order is the LRU order.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    } else {
      const created: Entry<T> = {
        tag,
        loading: load().then(({ value, bytes }) => {
          if (this.#entries.get(key) === created) {
            created.bytes = bytes;
            this.#bytes += bytes;
          }
          return value;
        }),
        bytes: 0,
        users: 0,
      };
      entry = created;
      this.#entries.set(key, created);
      created.loading.catch(() => this.#remove(key, created));
    }
    entry.users++;
    const held = entry;
    try {
      const value = await held.loading;
      this.#trim();
      let released = false;
      return {
        value,
        release: () => {
          if (released) return;
          released = true;
          held.users--;
          this.#trim();
        },
      };
    } catch (error) {
      held.users--;
      throw error;
    }
  }

  /** Drops every entry with one of these tags now (revocation); current users keep theirs until they finish. */
  evict(tags: readonly string[]): void {
    for (const [key, entry] of this.#entries) {
      if (tags.includes(entry.tag)) this.#remove(key, entry);
    }
  }

  #trim(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) return;
      if (entry.users === 0 && entry.bytes > 0) this.#remove(key, entry);
    }
  }

  #remove(key: string, entry: Entry<T>): void {
    if (this.#entries.get(key) !== entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    void entry.loading.then(
      (value) => this.#dispose(value),
      () => undefined,
    );
  }
}

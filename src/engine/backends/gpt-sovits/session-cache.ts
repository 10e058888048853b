/**
 * Where sessions live. Shared graphs (SSL, BERT, base t2s/vits) are created once per model file
 * and shared by every request. A fine-tuned voice's own graphs are keyed by their content hash and
 * kept in an LRU bounded by model bytes; entries in use are never evicted. No request state here.
 */
import { createHash } from 'node:crypto';
import type { ExecutionProvider, Session } from './onnx-session.ts';
import { sessionFromBytes, sessionFromFile } from './onnx-session.ts';

export class SharedSessions {
  readonly #provider: ExecutionProvider;
  readonly #sessions = new Map<string, Promise<Session>>();

  constructor(provider: ExecutionProvider) {
    this.#provider = provider;
  }

  get(path: string): Promise<Session> {
    let session = this.#sessions.get(path);
    if (!session) {
      session = sessionFromFile(path, this.#provider);
      this.#sessions.set(path, session);
      // A failed load is not cached: the operator may fix the file and retry.
      session.catch(() => this.#sessions.delete(path));
    }
    return session;
  }

  async release(): Promise<void> {
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(all.map(async (s) => (await s.catch(() => null))?.release()));
  }
}

export interface VoiceGraphs {
  readonly encoder: Session;
  readonly fsdec: Session;
  readonly sdec: Session;
  readonly vits: Session;
}

interface Entry {
  readonly graphs: Promise<VoiceGraphs>;
  readonly bytes: number;
  users: number;
}

export interface Lease {
  readonly graphs: VoiceGraphs;
  release(): void;
}

export class VoiceSessionLru {
  readonly #maxBytes: number;
  readonly #provider: ExecutionProvider;
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  constructor(maxBytes: number, provider: ExecutionProvider) {
    this.#maxBytes = maxBytes;
    this.#provider = provider;
  }

  get residentBytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Borrows the sessions for these graph bytes (encoder, fsdec, sdec, vits order). */
  async acquire(files: Readonly<Record<keyof VoiceGraphs, Uint8Array>>): Promise<Lease> {
    const hash = createHash('sha256');
    for (const part of [files.encoder, files.fsdec, files.sdec, files.vits]) hash.update(part);
    const key = hash.digest('hex');
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    } else {
      const bytes = files.encoder.length + files.fsdec.length + files.sdec.length + files.vits.length;
      const p = this.#provider;
      const graphs = Promise.all([
        sessionFromBytes(files.encoder, 'voice t2s_encoder.onnx', p),
        sessionFromBytes(files.fsdec, 'voice t2s_fsdec.onnx', p),
        sessionFromBytes(files.sdec, 'voice t2s_sdec.onnx', p),
        sessionFromBytes(files.vits, 'voice vits.onnx', p),
      ]).then(([encoder, fsdec, sdec, vits]) => ({ encoder, fsdec, sdec, vits }));
      const created: Entry = { graphs, bytes, users: 0 };
      entry = created;
      this.#entries.set(key, created);
      this.#bytes += bytes;
      graphs.catch(() => this.#remove(key, created));
    }
    entry.users++;
    const held = entry;
    try {
      const graphs = await held.graphs;
      let released = false;
      this.#trim();
      return {
        graphs,
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

  #remove(key: string, entry: Entry): void {
    if (this.#entries.get(key) !== entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    void entry.graphs.then(
      (g) => Promise.all([g.encoder.release(), g.fsdec.release(), g.sdec.release(), g.vits.release()]),
      () => undefined,
    );
  }

  #trim(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) return;
      if (entry.users === 0) this.#remove(key, entry);
    }
  }
}

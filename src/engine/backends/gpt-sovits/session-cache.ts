/**
 * Where sessions live. Shared graphs (SSL, BERT, base t2s/vits) are created once per model file
 * and shared by every request. A fine-tuned voice's own graphs are keyed by their content hash and
 * kept in an LRU bounded by model bytes; entries in use are never evicted. No request state here.
 */
import { createHash } from 'node:crypto';
import type { ExecutionProvider, Session } from './onnx-session.ts';
import { sessionFromBytes, sessionFromFile } from './onnx-session.ts';
import { LeasedLru, type Lease } from '../../leased-lru.ts';

export type { Lease };

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

/**
 * A fine-tuned voice's own graphs, keyed by a hash of their bytes so every version is its
 * own entry, bounded by model bytes.
 */
export class VoiceSessionLru {
  readonly #provider: ExecutionProvider;
  readonly #lru: LeasedLru<VoiceGraphs>;

  constructor(maxBytes: number, provider: ExecutionProvider) {
    this.#provider = provider;
    this.#lru = new LeasedLru<VoiceGraphs>(maxBytes, (g) => Promise.all([g.encoder.release(), g.fsdec.release(), g.sdec.release(), g.vits.release()]).then(() => undefined));
  }

  get residentBytes(): number {
    return this.#lru.residentBytes;
  }

  get size(): number {
    return this.#lru.size;
  }

  /** Borrows the sessions for these graph bytes (encoder, fsdec, sdec, vits order). */
  acquire(files: Readonly<Record<keyof VoiceGraphs, Uint8Array>>): Promise<Lease<VoiceGraphs>> {
    const parts = [files.encoder, files.fsdec, files.sdec, files.vits];
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    const p = this.#provider;
    return this.#lru.acquire(hash.digest('hex'), async () => {
      const [encoder, fsdec, sdec, vits] = await Promise.all([
        sessionFromBytes(files.encoder, 'voice t2s_encoder.onnx', p),
        sessionFromBytes(files.fsdec, 'voice t2s_fsdec.onnx', p),
        sessionFromBytes(files.sdec, 'voice t2s_sdec.onnx', p),
        sessionFromBytes(files.vits, 'voice vits.onnx', p),
      ]);
      return { value: { encoder, fsdec, sdec, vits }, bytes: parts.reduce((sum, part) => sum + part.length, 0) };
    });
  }
}

/**
 * Where sessions live. Shared graphs (SSL, BERT, base t2s/vits) are created once per model file
 * and shared by every request. A fine-tuned voice's own graphs are keyed by their content hash and
 * kept in an LRU bounded by model bytes; entries in use are never evicted. No request state here.
 */
import { createHash } from 'node:crypto';
import type { ExecutionProvider, Session } from './onnx-session.ts';
import type { T2sGraphs } from './t2s-decoder.ts';
import type { VoiceGraphBytes } from './voice-files.ts';
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

/** The graphs a voice speaks with: its t2s loop's graphs and vits. */
export interface VoiceGraphs {
  readonly t2s: T2sGraphs;
  readonly vits: Session;
}

function sessionsOf(g: VoiceGraphs): Session[] {
  return g.t2s.kind === 'kv' ? [g.t2s.encoder, g.t2s.decoder, g.vits] : [g.t2s.encoder, g.t2s.fsdec, g.t2s.sdec, g.vits];
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
    this.#lru = new LeasedLru<VoiceGraphs>(maxBytes, (g) => Promise.all(sessionsOf(g).map((s) => s.release())).then(() => undefined));
  }

  get residentBytes(): number {
    return this.#lru.residentBytes;
  }

  get size(): number {
    return this.#lru.size;
  }

  /** Borrows the sessions for these graph bytes. */
  acquire(files: VoiceGraphBytes): Promise<Lease<VoiceGraphs>> {
    const parts = files.kind === 'kv' ? [files.encoder, files.decoder, files.vits] : [files.encoder, files.fsdec, files.sdec, files.vits];
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    const p = this.#provider;
    const bytes = parts.reduce((sum, part) => sum + part.length, 0);
    return this.#lru.acquire(hash.digest('hex'), async () => {
      const encoder = await sessionFromBytes(files.encoder, 'voice t2s_encoder.onnx', p);
      const vits = await sessionFromBytes(files.vits, 'voice vits.onnx', p);
      if (files.kind === 'kv') {
        const decoder = await sessionFromBytes(files.decoder, 'voice t2s_decoder.onnx', p);
        return { value: { t2s: { kind: 'kv', encoder, decoder }, vits }, bytes };
      }
      const [fsdec, sdec] = await Promise.all([
        sessionFromBytes(files.fsdec, 'voice t2s_fsdec.onnx', p),
        sessionFromBytes(files.sdec, 'voice t2s_sdec.onnx', p),
      ]);
      return { value: { t2s: { kind: 'legacy', encoder, fsdec, sdec }, vits }, bytes };
    });
  }
}

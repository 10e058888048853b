import { availableParallelism } from 'node:os';
import { isMarkedAsUntransferable, Worker } from 'node:worker_threads';
import { BackendError, type BackendErrorCode } from '../../backend.ts';
import type { Conversion } from './convert.ts';

/**
 * Per-clause CPU work (analysis, conversion, resynthesis: 50–600 ms each) runs
 * in a small pool of worker threads so that it never blocks the caller's event
 * loop (the Discord bot's 20 ms Opus packet timer lives there).
 *
 * Conversions (the typed-array form of a voice's model) are sent to a worker
 * once and cached there under a key chosen by the caller, at most
 * `modelsPerWorker` per worker (least recently used leaves first); the pool
 * mirrors each worker's cache so it knows when to send one again.
 */

/** Messages to a worker. */
export type WorkerRequest =
  | { readonly type: 'load'; readonly key: string; readonly conversion: Conversion }
  | { readonly type: 'drop'; readonly key: string }
  | { readonly type: 'convert'; readonly id: number; readonly key: string; readonly pcm: Float32Array; readonly seed: number; readonly variability: number };

/** Messages from a worker. */
export type WorkerReply =
  | { readonly type: 'done'; readonly id: number; readonly samples: Float32Array }
  | { readonly type: 'failed'; readonly id: number; readonly message: string; readonly code?: BackendErrorCode };

export interface ConversionPoolOptions {
  /** Worker threads; default `defaultPoolSize()`. */
  readonly size?: number;
  /** Conversions cached per worker; default 64 (a 32-component GMM is ~0.2 MB as typed arrays). */
  readonly modelsPerWorker?: number;
  /** Nice value of each worker thread (Linux: per thread); default 10, below the caller's audio timers. 0 leaves it. */
  readonly workerNice?: number;
  /** The worker's entry; only tests replace it. */
  readonly workerUrl?: URL;
}

export interface ConversionTask {
  /** Names `conversion` in the workers' caches; one key must always mean the same conversion. */
  readonly key: string;
  readonly conversion: Conversion;
  /** The rendered base-voice clause; its buffer is transferred (unusable here afterwards). */
  readonly pcm: Float32Array;
  /** Resynthesis noise and intonation variation seed (the clause's 1-based index). */
  readonly seed: number;
  /** The request's 0..1 variability (pitch.ts); default 0, the trained mapping exactly. */
  readonly variability?: number;
  readonly signal: AbortSignal;
  /** False when the key's owner is disposed: used once, then dropped from the worker. */
  readonly cache?: boolean;
}

/**
 * At least 2, else one core less than the machine has (up to 8). With one
 * worker a 2-core machine could never spend more than one core on synthesis,
 * yet 20 guilds need ~1.1; the main thread mostly waits (Opus packets, the
 * gateway, flite child processes), and the OS shares the cores between it and
 * the workers in milliseconds slices, so its timers stay on time either way.
 */
export function defaultPoolSize(): number {
  return Math.min(8, Math.max(2, availableParallelism() - 1));
}

interface Pending {
  readonly id: number;
  readonly task: ConversionTask;
  readonly resolve: (samples: Float32Array) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  readonly onAbort: () => void;
}

interface Slot {
  readonly worker: Worker;
  /** Keys cached in this worker, least recently used first. */
  readonly keys: Set<string>;
  running: Pending | null;
  lastError: Error | null;
}

export class ConversionPool {
  readonly size: number;
  readonly #modelsPerWorker: number;
  readonly #workerUrl: URL;
  readonly #workerNice: number;
  readonly #slots: Slot[] = [];
  /**
   * Plain FIFO. Letting first clauses jump ahead was tried: with 20 guilds at
   * once it starved the next clauses of guilds already playing (18 underruns
   * against 2, and no earlier median first packet).
   */
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: ConversionPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? defaultPoolSize()));
    this.#modelsPerWorker = Math.max(1, Math.floor(options.modelsPerWorker ?? 64));
    this.#workerUrl = options.workerUrl ?? new URL('./conversion-worker.ts', import.meta.url);
    this.#workerNice = options.workerNice ?? 10;
  }

  /** Queued (not yet running) tasks. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Starts the workers ahead of the first clause (module loading takes ~100 ms). */
  warm(): void {
    while (!this.#closed && this.#slots.length < this.size) this.#spawn();
  }

  /** Converts one clause; an aborted task leaves the queue at once, a running one's result is dropped. */
  convert(task: ConversionTask): Promise<Float32Array> {
    if (this.#closed) return Promise.reject(new BackendError('backend_closed', 'the classic backend is closed'));
    if (task.signal.aborted) return Promise.reject(abortReason(task.signal));
    return new Promise<Float32Array>((resolve, reject) => {
      const pending: Pending = {
        id: this.#nextId++,
        task,
        resolve,
        reject,
        settled: false,
        onAbort: () => {
          this.#remove(pending);
          this.#settle(pending, () => reject(abortReason(task.signal)));
        },
      };
      task.signal.addEventListener('abort', pending.onAbort, { once: true });
      this.#queue.push(pending);
      this.#dispatch();
    });
  }

  /** Drops a conversion from every worker (its voice was disposed or revoked). */
  dispose(key: string): void {
    for (const slot of this.#slots) {
      if (slot.keys.delete(key)) slot.worker.postMessage({ type: 'drop', key } satisfies WorkerRequest);
    }
  }

  /** Rejects queued tasks and stops the workers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new BackendError('backend_closed', 'the classic backend is closed');
    for (const pending of this.#queue.splice(0)) this.#settle(pending, () => pending.reject(error));
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #remove(pending: Pending): void {
    const at = this.#queue.indexOf(pending);
    if (at >= 0) this.#queue.splice(at, 1);
  }

  #settle(pending: Pending, action: () => void): void {
    if (pending.settled) return;
    pending.settled = true;
    pending.task.signal.removeEventListener('abort', pending.onAbort);
    action();
  }

  #dispatch(): void {
    while (!this.#closed && this.queued > 0) {
      let slot = this.#slots.find((s) => s.running === null);
      if (!slot) {
        if (this.#slots.length >= this.size) return;
        slot = this.#spawn();
      }
      const pending = this.#queue.shift()!;
      this.#run(slot, pending);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(this.#workerUrl, { name: 'classic-conversion', workerData: { nice: this.#workerNice } });
    // Idle workers never keep the process alive; a running task refs its worker
    // so that a caller awaiting it is not cut off by an otherwise empty loop.
    worker.unref();
    const slot: Slot = { worker, keys: new Set(), running: null, lastError: null };
    worker.on('message', (reply: WorkerReply) => this.#reply(slot, reply));
    worker.on('error', (error: Error) => {
      slot.lastError = error;
    });
    worker.on('exit', (code: number) => this.#exited(slot, code));
    this.#slots.push(slot);
    return slot;
  }

  #run(slot: Slot, pending: Pending): void {
    const { task } = pending;
    const cache = task.cache !== false;
    if (slot.keys.has(task.key)) {
      slot.keys.delete(task.key); // re-inserted below: most recently used
    } else {
      if (cache && slot.keys.size >= this.#modelsPerWorker) {
        const oldest = slot.keys.values().next().value;
        if (oldest !== undefined) {
          slot.keys.delete(oldest);
          slot.worker.postMessage({ type: 'drop', key: oldest } satisfies WorkerRequest);
        }
      }
      slot.worker.postMessage({ type: 'load', key: task.key, conversion: task.conversion } satisfies WorkerRequest);
    }
    const pcm = transferable(task.pcm);
    slot.running = pending;
    slot.worker.ref();
    slot.worker.postMessage(
      { type: 'convert', id: pending.id, key: task.key, pcm, seed: task.seed, variability: task.variability ?? 0 } satisfies WorkerRequest,
      [pcm.buffer],
    );
    if (cache) slot.keys.add(task.key);
    else slot.worker.postMessage({ type: 'drop', key: task.key } satisfies WorkerRequest); // runs after the convert: messages keep order
  }

  #reply(slot: Slot, reply: WorkerReply): void {
    const pending = slot.running;
    if (!pending || pending.id !== reply.id) return;
    slot.running = null;
    slot.worker.unref();
    if (reply.type === 'done') this.#settle(pending, () => pending.resolve(reply.samples));
    else {
      const error = new BackendError(reply.code ?? 'conversion_failed', `classic conversion failed: ${reply.message}`);
      this.#settle(pending, () => pending.reject(error));
    }
    this.#dispatch();
  }

  #exited(slot: Slot, code: number): void {
    const at = this.#slots.indexOf(slot);
    if (at >= 0) this.#slots.splice(at, 1);
    const pending = slot.running;
    slot.running = null;
    if (pending) {
      const why = this.#closed ? 'the classic backend was closed' : `exit code ${code}${slot.lastError ? `: ${slot.lastError.message}` : ''}`;
      const error = new BackendError(this.#closed ? 'backend_closed' : 'conversion_failed', `classic conversion worker stopped (${why})`);
      this.#settle(pending, () => pending.reject(error));
    }
    // A replacement starts when queued work needs it; a worker that cannot even
    // start fails one task per attempt, so this never loops while idle.
    this.#dispatch();
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** The PCM as an array that owns a whole transferable buffer (copied only when it does not). */
function transferable(pcm: Float32Array): Float32Array<ArrayBuffer> {
  const buffer = pcm.buffer;
  if (buffer instanceof ArrayBuffer && pcm.byteOffset === 0 && pcm.byteLength === buffer.byteLength && !isMarkedAsUntransferable(buffer)) {
    return pcm as Float32Array<ArrayBuffer>;
  }
  return pcm.slice();
}

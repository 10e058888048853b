import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { BackendError } from '../../backend.ts';
import type { Conversion } from './convert.ts';
import type { WorkerReply, WorkerRequest } from './conversion-pool.ts';
import { convertClause } from './convert-clause.ts';

/**
 * Entry of a classic conversion worker (see conversion-pool.ts): holds the
 * conversions the pool sent, by key, and converts one clause at a time. The
 * pool decides what is cached, so this side only follows `load` and `drop`.
 */
const port = parentPort;
if (!port) throw new Error('conversion-worker.ts runs as a worker thread only');

// A lower priority for this thread only (Linux nice values are per thread), so
// the main thread's audio timers win the CPU whenever they are ready to run;
// synthesis takes every cycle they leave. Best effort: some systems refuse.
/** How much lower than the process, in nice steps. */
const nice = (workerData as { nice?: unknown } | null)?.nice;
if (typeof nice === 'number' && nice !== 0) {
  try {
    setPriority(0, Math.min(19, getPriority(0) + nice)); // relative to the process's own
  } catch {
    // Running at normal priority is still correct.
  }
}

const conversions = new Map<string, Conversion>();

port.on('message', (request: WorkerRequest) => {
  switch (request.type) {
    case 'load':
      conversions.set(request.key, request.conversion);
      return;
    case 'drop':
      conversions.delete(request.key);
      return;
    case 'convert': {
      let reply: WorkerReply;
      let transfer: ArrayBuffer[] = [];
      try {
        const conversion = conversions.get(request.key);
        if (!conversion) throw new Error(`no conversion loaded under key ${request.key}`);
        const samples = convertClause(request.pcm, conversion, request.seed, request.variability);
        reply = { type: 'done', id: request.id, samples };
        // convertClause() returns a fresh array that owns its buffer: hand it over, no copy.
        if (samples.buffer instanceof ArrayBuffer) transfer = [samples.buffer];
      } catch (error) {
        reply = {
          type: 'failed',
          id: request.id,
          message: error instanceof Error ? error.message : String(error),
          ...(error instanceof BackendError ? { code: error.code } : {}),
        };
      }
      port.postMessage(reply, transfer);
      return;
    }
  }
});

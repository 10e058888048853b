import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { StorageError } from '../storage-error.ts';
import { type BridgeCall, type BridgeResponse, type BridgeWorkerData, CONNECT_REQUEST_ID } from './bridge-protocol.ts';
import { PostgresStatementError } from './statement-error.ts';

/** SQLSTATE of a statement cancelled by statement_timeout. */
const QUERY_CANCELED = '57014';

export interface SyncBridgeOptions {
  readonly url: string;
  /** PostgreSQL's statement_timeout for every statement. */
  readonly statementTimeoutMs: number;
  /** How long the caller blocks for any one answer (a little over the statement timeout). */
  readonly answerTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

interface Connection {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly flag: Int32Array;
  /** Counts connections, so a transaction can tell that the one it began on is gone. */
  readonly generation: number;
}

/**
 * Makes the asynchronous `pg` client synchronous for the caller: a worker thread owns the
 * connection; `call` posts a request and blocks the calling thread on Atomics.wait until the
 * worker has posted the answer (read with receiveMessageOnPort, no event loop turn needed).
 * No answer in time, or a lost connection, is a StorageError ('database_unavailable'); the worker
 * is then dropped (closing its socket, so the server rolls back whatever it had open) and the
 * next call connects afresh.
 */
export class SyncBridge {
  readonly #options: SyncBridgeOptions;
  #connection: Connection | null = null;
  #generations = 0;
  #nextId = CONNECT_REQUEST_ID + 1;

  constructor(options: SyncBridgeOptions) {
    this.#options = options;
  }

  /** The current connection's number; changes whenever the bridge reconnects. */
  get generation(): number {
    return this.#connection?.generation ?? -1;
  }

  call(request: BridgeCall): Extract<BridgeResponse, { ok: true }> {
    const connection = this.#connection ?? this.#connect();
    const id = this.#nextId++;
    Atomics.store(connection.flag, 0, 0);
    connection.port.postMessage({ ...request, id });
    const response = this.#await(connection, id, this.#options.answerTimeoutMs);
    if (response === null) {
      this.reset();
      throw new StorageError('database_unavailable', `PostgreSQL did not answer within ${this.#options.answerTimeoutMs} ms`);
    }
    if (response.ok) return response;
    if (response.fatal) {
      this.reset();
      throw new StorageError('database_unavailable', response.message);
    }
    // Cancelled by statement_timeout (a lock held too long, an overloaded server): the database is
    // not answering in time, though this connection stays good.
    if (response.sqlState === QUERY_CANCELED) throw new StorageError('database_unavailable', `PostgreSQL cancelled a statement: ${response.message}`);
    throw new PostgresStatementError(response.message, response.sqlState);
  }

  /** Drops the worker and its connection; the next call connects again. */
  reset(): void {
    const connection = this.#connection;
    this.#connection = null;
    if (!connection) return;
    connection.port.close();
    void connection.worker.terminate();
  }

  #connect(): Connection {
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    const data: BridgeWorkerData = {
      url: this.#options.url,
      port: port2,
      signal,
      statementTimeoutMs: this.#options.statementTimeoutMs,
      connectTimeoutMs: this.#options.connectTimeoutMs,
    };
    const worker = new Worker(new URL('./bridge-worker.ts', import.meta.url), { workerData: data, transferList: [port2] });
    // The connection never keeps a process alive on its own: close() or exit ends it.
    worker.unref();
    const connection: Connection = { worker, port: port1, flag: new Int32Array(signal), generation: ++this.#generations };
    // Starting the thread and logging in: the connect timeout plus the thread's start-up.
    const answer = this.#await(connection, CONNECT_REQUEST_ID, this.#options.connectTimeoutMs + 5000);
    if (answer === null || !answer.ok) {
      port1.close();
      void worker.terminate();
      throw new StorageError(
        'database_unavailable',
        answer === null ? `could not connect to PostgreSQL within ${this.#options.connectTimeoutMs} ms` : answer.message,
      );
    }
    this.#connection = connection;
    return connection;
  }

  /** Blocks until the answer to `id` arrives; null when it does not within `timeoutMs`. */
  #await(connection: Connection, id: number, timeoutMs: number): BridgeResponse | null {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const received = receiveMessageOnPort(connection.port);
      if (received) {
        const response = received.message as BridgeResponse;
        // An answer to an earlier request cannot arrive (a timeout drops the worker), but be strict.
        if (response.id === id) return response;
        continue;
      }
      const left = deadline - performance.now();
      if (left <= 0) return null;
      Atomics.wait(connection.flag, 0, 0, left);
      Atomics.store(connection.flag, 0, 0);
    }
  }
}

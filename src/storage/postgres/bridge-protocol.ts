import type { SqlRow, SqlValue } from '../sql-database.ts';
import type { MessagePort } from 'node:worker_threads';

/**
 * What the blocking caller and the worker that owns the PostgreSQL connection say to each other
 * (over a MessagePort; the worker then wakes the caller through a shared Int32Array).
 */
/** A statement with parameters (extended protocol, prepared once per connection). */
export interface QueryRequest {
  readonly id: number;
  readonly kind: 'query';
  readonly sql: string;
  readonly params: readonly SqlValue[];
}

/** One or more statements without parameters (simple protocol). */
export interface ExecRequest {
  readonly id: number;
  readonly kind: 'exec';
  readonly sql: string;
}

export type BridgeRequest = QueryRequest | ExecRequest;

/** A request as the caller makes it: the bridge numbers them. */
export type BridgeCall = Omit<QueryRequest, 'id'> | Omit<ExecRequest, 'id'>;

export type BridgeResponse =
  | { readonly id: number; readonly ok: true; readonly rows: SqlRow[]; readonly changes: number }
  | {
      readonly id: number;
      readonly ok: false;
      readonly message: string;
      /** PostgreSQL's SQLSTATE, when the server answered with an error. */
      readonly sqlState: string | null;
      /** The connection is gone or unusable: the caller replaces the worker. */
      readonly fatal: boolean;
    };

/** Sent once the connection is up (or could not be made), under request id 0. */
export const CONNECT_REQUEST_ID = 0;

export interface BridgeWorkerData {
  readonly url: string;
  readonly port: MessagePort;
  /** Int32Array over a SharedArrayBuffer: [0] is set to 1 and notified when an answer is posted. */
  readonly signal: SharedArrayBuffer;
  readonly statementTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

import { workerData } from 'node:worker_threads';
import pg from 'pg';
import type { SqlRow, SqlValue } from '../sql-database.ts';
import { type BridgeRequest, type BridgeResponse, type BridgeWorkerData, CONNECT_REQUEST_ID } from './bridge-protocol.ts';

/**
 * The worker thread that owns one PostgreSQL connection for a blocking `PostgresDatabase`.
 * It answers each request on the port, then sets the shared flag and wakes the caller, which
 * is waiting on it with Atomics.wait. One request at a time: the caller blocks until answered.
 */

const data = workerData as BridgeWorkerData;
const flag = new Int32Array(data.signal);

// Rows come back typed as SQLite's do: 64-bit integers (COUNT, SUM, BIGINT columns) and
// NUMERIC as numbers, not strings. bytea stays a Buffer (a Uint8Array on the caller's side).
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : BigInt(text);
});
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (text) => Number(text));

const client = new pg.Client({
  connectionString: data.url,
  statement_timeout: data.statementTimeoutMs,
  // A transaction left open by a stalled caller must not hold the write lock for ever.
  idle_in_transaction_session_timeout: data.statementTimeoutMs * 4,
  connectionTimeoutMillis: data.connectTimeoutMs,
  application_name: 'vocalis',
});

/** Set once the connection failed or ended: every later request gets a fatal answer. */
let lost: string | null = null;
client.on('error', (error) => {
  lost = `the PostgreSQL connection failed: ${error.message}`;
});
client.on('end', () => {
  lost ??= 'the PostgreSQL connection was closed';
});

/** Statements prepared on this connection, by their text. */
const prepared = new Map<string, string>();

function answer(response: BridgeResponse): void {
  data.port.postMessage(response);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

/** Bytes cross the thread boundary as Uint8Array; pg binds Buffers as bytea. */
function bind(value: SqlValue): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Errors after which the connection cannot be trusted: no SQLSTATE (network), or class 08 / 57P. */
function isFatal(sqlState: string | null): boolean {
  return lost !== null || sqlState === null || sqlState.startsWith('08') || sqlState.startsWith('57P');
}

async function handle(request: BridgeRequest): Promise<BridgeResponse> {
  if (lost !== null) return { id: request.id, ok: false, message: lost, sqlState: null, fatal: true };
  try {
    if (request.kind === 'exec') {
      await client.query(request.sql);
      return { id: request.id, ok: true, rows: [], changes: 0 };
    }
    let name = prepared.get(request.sql);
    if (name === undefined) {
      name = `vocalis_${prepared.size + 1}`;
      prepared.set(request.sql, name);
    }
    const result = await client.query<SqlRow>({ name, text: request.sql, values: request.params.map(bind) });
    return { id: request.id, ok: true, rows: result.rows, changes: result.rowCount ?? 0 };
  } catch (error) {
    const sqlState =
      typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && /^[0-9A-Z]{5}$/.test(error.code) ? error.code : null;
    const message = error instanceof Error ? error.message : String(error);
    return { id: request.id, ok: false, message, sqlState, fatal: isFatal(sqlState) };
  }
}

data.port.on('message', (request: BridgeRequest) => {
  void handle(request).then(answer);
});

client.connect().then(
  () => answer({ id: CONNECT_REQUEST_ID, ok: true, rows: [], changes: 0 }),
  (error: unknown) => {
    lost = `could not connect to PostgreSQL: ${error instanceof Error ? error.message : String(error)}`;
    answer({ id: CONNECT_REQUEST_ID, ok: false, message: lost, sqlState: null, fatal: true });
  },
);

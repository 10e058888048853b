import { createHmac } from 'node:crypto';
import { AuditLedger } from '../../../../src/consent/ledger.ts';
import { openDatabase } from '../../../../src/storage/database.ts';

/** A process appending to the ledger in a PostgreSQL database: `append-ledger.ts <url> <actor> <count>`. */
const [url, actor, count] = process.argv.slice(2);
if (!url || !actor || !count) throw new Error('usage: append-ledger.ts <url> <actor> <count>');
const db = openDatabase({ kind: 'postgres', url });
const ledger = new AuditLedger(db, { seal: (message) => createHmac('sha256', 'test-ledger-key').update(message).digest('hex') });
for (let i = 0; i < Number(count); i++) ledger.append({ type: 'test.appended', actor, data: { i } });
db.close();

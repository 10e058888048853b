import { openDatabase } from '../../../../src/storage/database.ts';

/** Opens (and so migrates) a PostgreSQL database at a given moment: `open-at.ts <url> <epoch ms>`. */
const [url, at] = process.argv.slice(2);
if (!url || !at) throw new Error('usage: open-at.ts <url> <epoch ms>');
// Spin to the agreed moment, so the processes start migrating within a millisecond of each other.
while (Date.now() < Number(at));
openDatabase({ kind: 'postgres', url }).close();

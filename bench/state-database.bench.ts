import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsentChanges } from '../src/consent/consent-changes.ts';
import { ConsentGate } from '../src/consent/consent-gate.ts';
import { ConsentService } from '../src/consent/consent-service.ts';
import { ConsentStore } from '../src/consent/consent-store.ts';
import { AuditLedger } from '../src/consent/ledger.ts';
import { Revocation } from '../src/consent/revocation.ts';
import { type DatabaseLocation, openDatabase } from '../src/storage/database.ts';
import { DataKeyStore } from '../src/storage/data-keys.ts';
import { JobHistory } from '../src/storage/job-history.ts';
import { MasterKey } from '../src/storage/master-key.ts';
import { SampleClipIndex } from '../src/storage/sample-clips.ts';
import type { SqlDatabase } from '../src/storage/sql-database.ts';
import { UserDirectory } from '../src/storage/user-directory.ts';
import { UtteranceMarkRecords } from '../src/storage/utterance-marks.ts';
import { VoiceCatalog } from '../src/storage/voice-catalog.ts';
import { startPostgres } from '../test/support/postgres-server.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * The state database's hot operations, SQLite (a file in a temp dir) next to PostgreSQL (a local
 * server started here, or `--database-url URL`, through the synchronous bridge): the gate's
 * per-chunk check (PostgreSQL with the cache the gate uses there, and without it, to show why),
 * authorizing a `/speak`, one ledger append, and a whole revocation's database part.
 */
const CHECKS = 2000;
const APPENDS = 300;
const REVOCATIONS = 20;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function timeEach(rounds: number, work: (i: number) => void): number[] {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    work(i);
    times.push(performance.now() - start);
  }
  return times;
}

function parts(db: SqlDatabase, cachedChecks: boolean) {
  const users = new UserDirectory(db, () => new Date());
  const store = new ConsentStore(db);
  const ledger = new AuditLedger(db, { seal: (m) => createHmac('sha256', 'bench').update(m).digest('hex') });
  const changes = new ConsentChanges();
  const policy = { offerMinutes: 15, rawSampleRetentionDays: 7, voiceInactivityDays: 365, verification: 'off' as const };
  const consents = new ConsentService({ db, store, ledger, clock: () => new Date(), policy, changes });
  const gate = new ConsentGate({ store, users, clock: () => new Date(), changes, cachedChecks });
  const keys = new DataKeyStore(db, new MasterKey(randomBytes(32)));
  const revocation = new Revocation({
    db,
    users,
    consents,
    gate,
    keys,
    voices: new VoiceCatalog(db, () => new Date()),
    clips: new SampleClipIndex(db, () => new Date()),
    jobs: new JobHistory(db, () => new Date()),
    ledger,
    clock: () => new Date(),
    marks: new UtteranceMarkRecords(db, () => new Date()),
    hooks: {
      cancelJobs: async () => {},
      evictVoices: () => {},
      eraseFiles: async (userId) => ({ files: 0, bytes: 0, proof: { store: 'filesystem', prefix: `users/${userId}/`, listedAfter: 0 } }),
    },
  });
  /** A user with a consent that allows speech. */
  const speaker = (name: string) => {
    const user = users.resolve('cli', name);
    const offer = consents.offer({ userId: user.id, language: 'en', scope: { platform: 'cli', context: '*', speakers: { mode: 'owner' } }, actor: 'bench' });
    consents.accept(offer.consent.id, 'bench');
    consents.sampleCollected(offer.consent.id);
    keys.getOrCreate(user.id);
    return user.id;
  };
  const speak = (userId: string, name: string) =>
    gate.authorize({
      purpose: 'speak',
      ownerUserId: userId,
      requester: { platform: 'cli', platformUserId: name },
      context: { platform: 'cli', contextId: '*' },
      text: 'hello there',
    });
  return { ledger, revocation, speaker, speak };
}

async function measure(label: string, location: DatabaseLocation, cachedChecks: boolean, figures: BenchFigure[], checksOnly = false): Promise<void> {
  const db = openDatabase(location);
  try {
    const p = parts(db, cachedChecks);
    const owner = p.speaker('owner');
    const ticket = p.speak(owner, 'owner');
    const checks = timeEach(CHECKS, () => ticket.check());
    ticket.release();
    figures.push({ metric: `${label}: gate per-chunk check, median`, value: Number((median(checks) * 1000).toFixed(1)), unit: 'µs' });
    if (checksOnly) return;
    const authorize = timeEach(200, () => p.speak(owner, 'owner').release());
    figures.push({ metric: `${label}: gate authorize /speak, median`, value: Number(median(authorize).toFixed(3)), unit: 'ms' });
    const appends = timeEach(APPENDS, (i) => p.ledger.append({ type: 'bench.event', actor: 'bench', data: { i } }));
    figures.push({ metric: `${label}: ledger append, median`, value: Number(median(appends).toFixed(3)), unit: 'ms' });
    const revoke: number[] = [];
    for (let i = 0; i < REVOCATIONS; i++) {
      const userId = p.speaker(`revoked-${i}`);
      const start = performance.now();
      await p.revocation.revoke(userId, { kind: 'operator' }, 'bench');
      revoke.push(performance.now() - start);
    }
    figures.push({ metric: `${label}: revocation (database part, incl. reclaim), median`, value: Number(median(revoke).toFixed(2)), unit: 'ms' });
  } finally {
    db.close();
  }
}

const suite: BenchSuite = {
  name: 'state-database',
  async run({ args }) {
    const figures: BenchFigure[] = [];
    const dir = await mkdtemp(join(tmpdir(), 'vocalis-bench-state-'));
    const urlFlag = args.indexOf('--database-url');
    const external = urlFlag >= 0 ? args[urlFlag + 1] : undefined;
    const server = external ? null : await startPostgres();
    try {
      const url = external ?? (await server!.createDatabase());
      await measure('SQLite', { kind: 'sqlite', file: join(dir, 'vocalis.db') }, false, figures);
      await measure('PostgreSQL (cached checks)', { kind: 'postgres', url }, true, figures);
      const uncached = external ?? (await server!.createDatabase());
      await measure('PostgreSQL, no cache', { kind: 'postgres', url: uncached }, false, figures, true);
      return figures;
    } finally {
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;

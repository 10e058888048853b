// Vitest runs the suite (`npm test` → scripts/bootstrap.mjs: type check, then `vitest run`).
import { defineConfig } from 'vitest/config';

/** The files that run a second time with state in PostgreSQL. */
const POSTGRES_TESTS = [
  'test/storage/data-keys.test.ts',
  'test/consent/consent-gate.test.ts',
  'test/consent/consent-service.test.ts',
  'test/consent/ledger.test.ts',
  'test/consent/revocation-shreds-key-first.test.ts',
  'test/core/finetune-lifecycle.test.ts',
  'test/core/revocation.test.ts',
  'test/core/per-chunk-consent-check.test.ts',
  'test/consent/gate-verification.test.ts',
  'test/consent/verification-store.test.ts',
  'test/core/consent-property.test.ts',
  'test/core/retention.test.ts',
  'test/storage/postgres/*.test.ts',
];

export default defineConfig({
  test: {
    environment: 'node',
    // Each test file in its own child process, as under node:test: the Redis servers, SQLite
    // files, worker threads and ports a file starts are its own, and a crash stays in its file.
    pool: 'forks',
    isolate: true,
    // The CI machine has 2 cores; the end-to-end files are CPU-heavy (codecs, fine-tunes).
    maxWorkers: 2,
    // Real services, real codecs and fine-tunes: the budget node:test had (--test-timeout=600000).
    testTimeout: 600_000,
    hookTimeout: 600_000,
    teardownTimeout: 60_000,
    // The same report for people, CI and agents, closing with "Tests  N passed"; `--reporter=verbose`
    // also prints the figures tests record with annotate().
    reporters: ['default', ...(process.env['GITHUB_ACTIONS'] === 'true' ? ['github-actions'] : []), './test/support/closing-line-reporter.ts'],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'text', 'html', 'lcov'],
      reportsDirectory: 'coverage',
    },
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], exclude: ['**/node_modules/**', 'test/storage/postgres/**'] } },
      // The same storage, consent and revocation tests against a real PostgreSQL server (DATABASE_URL),
      // plus the PostgreSQL-only ones: test/support/test-database.ts picks the database by this env.
      {
        extends: true,
        test: {
          name: 'postgres',
          include: POSTGRES_TESTS,
          env: { VOCALIS_TEST_DATABASE: 'postgres' },
          globalSetup: ['test/support/postgres-global-setup.ts'],
        },
      },
    ],
  },
});

import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres-server.ts';

/** One real PostgreSQL server for the `postgres` project's run; each test makes its own databases on it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}

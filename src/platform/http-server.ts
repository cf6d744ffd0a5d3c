/**
 * A small HTTP server for the dashboard and JSON API. Routing lives in the caller (a pure
 * handler), so the API is tested without opening a port.
 */
import { createServer, type Server } from 'node:http';

export interface HttpReply {
  status: number;
  body: string;
  contentType: string;
}

export type HttpHandler = (method: string, url: URL) => Promise<HttpReply>;

export interface RunningHttpServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

export function startHttpServer(host: string, port: number, handler: HttpHandler): Promise<RunningHttpServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    handler(req.method ?? 'GET', url).then(
      (r) => {
        res.writeHead(r.status, { 'content-type': r.contentType, 'cache-control': 'no-store' });
        res.end(r.body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(err) }));
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      const bound = typeof a === 'object' && a !== null ? a.port : port;
      resolve({
        host,
        port: bound,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}

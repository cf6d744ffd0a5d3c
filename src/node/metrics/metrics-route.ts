/**
 * `GET /metrics` (issue 17): the peer's metrics in the Prometheus text format (version 0.0.4), from
 * its own registry (peer-metrics.ts). It sits behind the API guard (api-guard.ts) like every route:
 * a scraper on this machine reads it with a plain GET; `Authorization: Bearer <token>` is accepted
 * (and needed wherever the guard asks for the token).
 */
import type { ApiRoute } from '../http-api.js';
import type { PeerRoutesContext } from '../peer-routes-context.js';
import type { ApiReply } from '../status-api.js';
import { createPeerMetrics, type PeerMetrics, type PeerMetricsOptions } from './peer-metrics.js';

export const METRICS_PATH = '/metrics';

export function createMetricsRoute(ctx: PeerRoutesContext, options: PeerMetricsOptions = {}): ApiRoute & { close(): void; readonly metrics: PeerMetrics } {
  const metrics = createPeerMetrics(
    {
      clock: ctx.clock,
      events: ctx.events,
      sip: ctx.sip,
      overlay: ctx.overlay,
      overlayName: ctx.domain,
    },
    options,
  );
  let closed = false;
  return {
    metrics,
    async handle(method: string, url: URL): Promise<ApiReply | undefined> {
      if (url.pathname !== METRICS_PATH) return undefined;
      if (method !== 'GET' && method !== 'HEAD') return { status: 405, contentType: 'application/json', body: JSON.stringify({ error: `method ${method} not allowed on ${METRICS_PATH}` }), headers: { allow: 'GET, HEAD' } };
      if (closed) return { status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'the peer is stopping' }) };
      try {
        return { status: 200, contentType: metrics.registry.contentType, body: await metrics.scrape() };
      } catch (err) {
        ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'metrics: scrape failed');
        return { status: 500, contentType: 'application/json', body: JSON.stringify({ error: 'the metrics could not be collected' }) };
      }
    },
    close() {
      closed = true;
      metrics.close();
    },
  };
}

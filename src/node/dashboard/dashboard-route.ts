/**
 * The live dashboard (issue 17), served by every peer beside its JSON API:
 * - `GET /` the page, `GET /dashboard/*` its script and style (TypeScript string modules: shipped
 *   in the package, nothing fetched from elsewhere at run time), `GET /login` the login page used when
 *   the API listens beyond loopback (api-guard.ts);
 * - `GET /api/events` Server-Sent Events (event-stream.ts) fed by the peer's event hubs
 *   (dashboard-feed.ts); `GET /api/dashboard` what the page needs besides /api/status (graph
 *   history, links with their type and RTT, calls in progress, call failures, the log tail, storage
 *   per kind); `GET /api/ping?node=<hex>` a RELOAD Ping to a node (RFC 6940 §6.5.3), through the overlay.
 * `close()` ends every stream and stops the feed (the peer stops).
 */
import { MessageCode, encodePingReq } from '../../reload/codec/index.js';
import type { ApiRoute } from '../http-api.js';
import type { PeerRoutesContext } from '../peer-routes-context.js';
import type { ApiReply } from '../status-api.js';
import { DashboardFeed, MAX_CALL_FAILURES, SUMMARY_INTERVAL_MS, type FeedGauges } from './dashboard-feed.js';
import { DASHBOARD_ASSETS, dashboardPageHtml, loginPageHtml } from './dashboard-page.js';
import { EventStreamHub, type EventStreamLimits } from './event-stream.js';
import { linkViews, type LinkSources, type LinkView } from './link-view.js';
import { storageByKind, type KindsView } from './storage-by-kind.js';

/** Paths of this group that send overlay traffic (rate-limited by the API guard without the token). */
export const DASHBOARD_OVERLAY_ROUTES: readonly string[] = ['/api/ping'];

/** Content-Security-Policy of the pages: only this origin's scripts, styles and connections. */
export const PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const json = (status: number, value: unknown, headers?: Record<string, string>): ApiReply => ({
  status,
  body: JSON.stringify(value),
  contentType: 'application/json',
  ...(headers === undefined ? {} : { headers }),
});

const page = (body: string): ApiReply => ({
  status: 200,
  body,
  contentType: 'text/html; charset=utf-8',
  headers: { 'content-security-policy': PAGE_CSP, 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' },
});

export interface DashboardRouteOptions {
  streams?: Partial<EventStreamLimits>;
}

export function createDashboardRoute(ctx: PeerRoutesContext, options: DashboardRouteOptions = {}): ApiRoute & { close(): void } {
  const hub = new EventStreamHub({ clock: ctx.clock }, options.streams);
  const ov = ctx.overlay;
  const node = ov?.node;
  const linkSources: LinkSources | undefined =
    ov === undefined
      ? undefined
      : {
          connections: () => ov.node.conns.all(),
          tlsStats: (id) => ov.links.stats(id),
          iceLinks: () => ov.iceLinks?.describe() ?? [],
          hex: (id) => ov.node.ring.hex(id),
          now: () => ctx.clock.now(),
        };
  const links = (): LinkView[] => (linkSources === undefined ? [] : linkViews(linkSources));
  const kinds = (): KindsView =>
    ov === undefined
      ? { kinds: [] }
      : storageByKind({
          summaryByKind: () => ov.storage.engine.summaryByKind(),
          kindName: (k) => ov.storage.kinds(k)?.name,
        });
  const gauges = (): FeedGauges => ({
    registrations: ctx.status.registrations().length,
    storage: ov === undefined ? null : ov.storageSummary(),
    state: node?.state ?? 'standalone',
    fingers: node?.status().fingers ?? [],
  });
  const feed = new DashboardFeed({
    clock: ctx.clock,
    wallNow: () => Date.now(),
    events: ctx.events,
    ...(node === undefined ? {} : { overlay: { events: node.events, hex: (id: bigint) => node.ring.hex(id) } }),
    ...(ctx.logTail === undefined ? {} : { logTail: ctx.logTail }),
    cumulative: () => ({ overlayMessagesIn: node?.counters.messagesIn ?? 0, overlayMessagesOut: node?.counters.messagesOut ?? 0 }),
    gauges,
    links,
    kinds,
    out: hub,
  });

  const snapshot = (): object => {
    const g = gauges();
    return {
      intervalMs: SUMMARY_INTERVAL_MS,
      history: feed.window.history(),
      totals: feed.totals(g),
      links: links(),
      calls: feed.callsInProgress(),
      failures: feed.callFailures(),
      maxFailures: MAX_CALL_FAILURES,
      log: { lines: ctx.logTail?.lines() ?? [], total: ctx.logTail?.total ?? 0 },
      storageByKind: kinds(),
      streams: { clients: hub.clientCount, limits: hub.limits, stats: hub.stats },
    };
  };

  const events = (): ApiReply => {
    const o = hub.open();
    if (!o.ok) {
      const why = o.reason === 'full' ? `too many live dashboards (${hub.limits.maxClients} streams open); close one or try later` : 'the peer is stopping';
      return json(503, { error: why }, { 'retry-after': '5' });
    }
    // X-Accel-Buffering: a reverse proxy in front must not hold the events back
    return { status: 200, body: o.first, contentType: 'text/event-stream; charset=utf-8', headers: { 'x-accel-buffering': 'no' }, stream: o.stream };
  };

  const ping = async (url: URL): Promise<ApiReply> => {
    if (node === undefined) return json(404, { error: 'this peer runs no overlay (--standalone)' });
    const hex = url.searchParams.get('node') ?? '';
    const digits = node.ring.bytes * 2;
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== digits) return json(400, { error: `node must be a Node-ID of ${digits} hex digits` });
    const id = Uint8Array.from(Buffer.from(hex, 'hex'));
    if (node.ring.fromBytes(id) === node.id) return json(400, { error: 'that is this peer' });
    const t0 = ctx.clock.now();
    const a = await node.request([{ type: 'node', nodeId: id }], MessageCode.ping_req, encodePingReq({ padding: new Uint8Array(0) }));
    const ms = Math.round((ctx.clock.now() - t0) * 10) / 10;
    if (!a.ok) return json(504, { node: hex.toLowerCase(), ok: false, error: a.info, errorCode: a.errorCode, ms });
    return json(200, { node: hex.toLowerCase(), ok: true, responder: a.responder === undefined ? null : Buffer.from(a.responder).toString('hex'), hops: a.hops, ms });
  };

  const routes: Record<string, (url: URL) => ApiReply | Promise<ApiReply>> = {
    '/': () => page(dashboardPageHtml(ctx.domain)),
    '/login': () => page(loginPageHtml(ctx.domain)),
    '/api/events': events,
    '/api/dashboard': () => json(200, snapshot()),
    '/api/ping': ping,
  };

  return {
    overlayRoutes: DASHBOARD_OVERLAY_ROUTES,
    handle(method, url) {
      const asset = DASHBOARD_ASSETS[url.pathname];
      const route = routes[url.pathname];
      if (asset === undefined && route === undefined) return undefined;
      if (method !== 'GET' && method !== 'HEAD') return json(405, { error: `method ${method} not allowed on ${url.pathname}` }, { allow: 'GET, HEAD' });
      if (asset !== undefined) return { status: 200, body: asset.body, contentType: asset.contentType, headers: { 'cache-control': 'no-cache' } };
      // HEAD of the stream: its head only (no stream opened)
      if (method === 'HEAD' && url.pathname === '/api/events') return { status: 200, body: '', contentType: 'text/event-stream; charset=utf-8' };
      return route!(url);
    },
    close() {
      feed.stop();
      hub.close();
    },
  };
}

/**
 * The JSON API behind `GET /api/status` and `GET /api/lookup` (DESIGN.md contract), as a pure
 * handler: tests call it directly, the platform HTTP server only carries it (and node/api-guard.ts
 * decides first who may call it). It also renders the plain, script-free status page (`/plain`; `/`
 * when no live dashboard route is mounted in front, see dashboard/dashboard-route.ts).
 *
 * Lists that grow with what the peer holds are paged (issue 14): `?offset=&limit=` (default page
 * {@link DEFAULT_STATUS_PAGE}, limit capped at {@link MAX_STATUS_PAGE}), with the totals beside them;
 * a contact longer than {@link MAX_CONTACT_VIEW_CHARS} is cut in this view.
 */
import type { Clock } from '../lib/clock.js';
import { formatNameAddr, parseUri } from '../sip/message/index.js';
import { aorProblem } from '../sip/core/aor-validation.js';
import type { Binding } from '../sip/core/location-service.js';
import type { SipPeer } from './sip-peer.js';
import type { OverlayNode } from '../reload/overlay/overlay-node.js';
import { MessageCode, encodePingReq } from '../reload/codec/index.js';
import { STATIC_CALL_ID, type StaticRegistrationStatus } from '../usages/sip/static-registrations.js';
import type { HttpStream, HttpStreamSink } from '../platform/http-server.js';

export interface StatusSource {
  overlay: string;
  peer: SipPeer;
  clock: Clock;
  startedAt: number;
  http: string | undefined;
  /** The RELOAD node, when the peer runs the overlay. */
  overlayNode?: OverlayNode;
  /** What the overlay stores for an AoR (RFC 7904 registrations and where they lead). */
  describeAor?: (aor: string) => Promise<object>;
  /** Static registrations and the state of their Stores (issue 6). */
  staticRegistrations?: () => StaticRegistrationStatus[];
  /** Counters of the SIP usage (AppAttach locator, overlay Stores and lookups). */
  sipUsageStats?: () => object;
  /** Resources, values and bytes this peer stores for the overlay. */
  storageSummary?: () => { resources: number; values: number; bytes: number };
  /** Local bindings (the in-memory location service), for localRegistrations. */
  registrations(): Array<[string, Binding[]]>;
  /** The NAT plane: the overlay UDP port, STUN answers, ICE sessions, flows (issue 12). */
  natStatus?: () => object;
  /** The media relay (issue 13): mode, sessions, ports, packet counters. */
  mediaStatus?: () => object;
  /** LAN discovery (issue 15): what is advertised, candidates found, problems counted. */
  discoveryStatus?: () => object;
  /** SIP authentication (issue 15): `{ mode: 'closed'|'open', realm, ... }`. */
  authStatus?: () => object;
  /** Issue 16: the peer's services for its users (messages kept for absent users…). */
  servicesStatus?: () => object;
  /** Where the API token is kept (so local tools such as `p2psip user` find it); absent: this run only. */
  apiTokenFile?: string;
  /** Joining, never stranding, merging (issue 15): `join` — state alone/joining/joined, why, candidates. */
  joinStatus?: () => object;
}

export interface ApiReply {
  status: number;
  /** The whole body; with `stream`, its first chunk (may be empty). */
  body: string;
  /** A binary body (a voicemail's WAV), sent instead of `body` when set. */
  bytes?: Uint8Array;
  contentType: string;
  /** Extra response headers (Retry-After, WWW-Authenticate). */
  headers?: Readonly<Record<string, string>>;
  /** A body written over time (Server-Sent Events, issue 17), carried by the platform server. */
  stream?: ApiStream;
}

/** A streamed reply body: the platform server's contract (start, drained, closed; a sink to write to). */
export type ApiStream = HttpStream;
export type ApiStreamSink = HttpStreamSink;

/** Entries of each paged list in a status answer when no `limit` is given. */
export const DEFAULT_STATUS_PAGE = 100;
/** Largest `limit` honoured (a larger one is capped). */
export const MAX_STATUS_PAGE = 1000;
/** A contact longer than this is cut in status views (`truncated: true`); /api/lookup shows it whole. */
export const MAX_CONTACT_VIEW_CHARS = 512;
/** Longest `aor` accepted by /api/lookup. */
export const MAX_LOOKUP_AOR_CHARS = 2048;
/** Routes of this handler that send overlay traffic (rate-limited by the API guard). */
export const STATUS_OVERLAY_ROUTES: readonly string[] = ['/api/lookup', '/api/overlay/lookup'];

/** One page of the status lists. */
export interface StatusPage {
  offset: number;
  limit: number;
}

export const DEFAULT_PAGE: Readonly<StatusPage> = Object.freeze({ offset: 0, limit: DEFAULT_STATUS_PAGE });

/** The page a query asks for (`offset`, `limit`: decimal counts), or the error to answer 400 with. */
export function parsePage(q: URLSearchParams): { ok: true; page: StatusPage } | { ok: false; error: string } {
  const count = (name: string, dflt: number): number | string => {
    const v = q.get(name);
    if (v === null) return dflt;
    if (!/^\d{1,9}$/.test(v)) return `'${name}' must be a count from 0 to 999999999`;
    return Number(v);
  };
  const offset = count('offset', 0);
  const limit = count('limit', DEFAULT_STATUS_PAGE);
  if (typeof offset === 'string') return { ok: false, error: offset };
  if (typeof limit === 'string') return { ok: false, error: limit };
  return { ok: true, page: { offset, limit: Math.min(limit, MAX_STATUS_PAGE) } };
}

const pageOf = <T>(list: readonly T[], page: StatusPage): T[] => list.slice(page.offset, page.offset + page.limit);

const json = (status: number, value: unknown): ApiReply => ({
  status,
  body: JSON.stringify(value, null, 2),
  contentType: 'application/json',
});

function bindingView(b: Binding, now: number, cut = false): object {
  const contact = formatNameAddr(b.contact);
  const long = cut && contact.length > MAX_CONTACT_VIEW_CHARS;
  return {
    contact: long ? `${contact.slice(0, MAX_CONTACT_VIEW_CHARS)}…` : contact,
    ...(long ? { truncated: true } : {}),
    expiresIn: Math.max(0, Math.round((b.expiresAt - now) / 1000)),
    q: b.q,
    source: `${b.source.protocol}:${b.source.host}:${b.source.port}`,
    ...(b.callId === STATIC_CALL_ID ? { static: true } : {}),
  };
}

export function statusBody(src: StatusSource, page: StatusPage = DEFAULT_PAGE): object {
  const now = src.clock.now();
  const regs = src.registrations();
  const statics = src.staticRegistrations?.() ?? [];
  const node = src.overlayNode;
  const ring = node?.status();
  const ep = node?.endpoint();
  return {
    nodeId: ring?.nodeId ?? null,
    overlay: src.overlay,
    state: node?.state ?? 'standalone',
    client: node?.options.client ?? false,
    listen: ep === undefined ? null : `${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`,
    sip: src.peer.addresses.map((a) => `${a.protocol}:${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`),
    http: src.http ?? null,
    successors: ring?.successors ?? [],
    predecessors: ring?.predecessors ?? [],
    fingers: ring?.fingers ?? [],
    connections: ring?.connections ?? 0,
    admittingPeer: ring?.admittingPeer ?? null,
    routableLinks: ring?.routableLinks ?? [],
    storedResources: src.storageSummary?.().resources ?? 0,
    storage: src.storageSummary?.() ?? null,
    // a page of each list (DESIGN.md keeps the name localRegistrations: it is the page), totals beside
    localRegistrations: pageOf(regs, page).map(([aor, bindings]) => ({ aor, contacts: bindings.map((b) => bindingView(b, now, true)) })),
    localRegistrationsTotal: regs.length,
    staticRegistrations: pageOf(statics, page),
    staticRegistrationsTotal: statics.length,
    page: { offset: page.offset, limit: page.limit },
    sipUsage: src.sipUsageStats?.() ?? null,
    nat: src.natStatus?.() ?? null,
    media: src.mediaStatus?.() ?? null,
    discovery: src.discoveryStatus?.() ?? null,
    auth: src.authStatus?.() ?? null,
    services: src.servicesStatus?.() ?? null,
    apiTokenFile: src.apiTokenFile ?? null,
    join: src.joinStatus?.() ?? null,
    uptimeSeconds: Math.round((now - src.startedAt) / 1000),
    sipStats: {
      transport: src.peer.transport.stats(),
      transactions: src.peer.transactions.stats(),
      proxy: src.peer.proxy.stats(),
    },
    overlayStats:
      node === undefined
        ? null
        : {
            messagesIn: node.counters.messagesIn,
            messagesOut: node.counters.messagesOut,
            forwarded: node.counters.forwarded,
            delivered: node.counters.delivered,
            dropped: Object.fromEntries(node.counters.drops),
          },
  };
}

export async function handleApi(src: StatusSource, method: string, url: URL): Promise<ApiReply> {
  if (method !== 'GET') return json(405, { error: `method ${method} not allowed` });
  if (url.pathname === '/api/status') {
    const p = parsePage(url.searchParams);
    return p.ok ? json(200, statusBody(src, p.page)) : json(400, { error: p.error });
  }
  if (url.pathname === '/api/lookup') {
    const aorText = url.searchParams.get('aor');
    if (aorText === null || aorText === '') return json(400, { error: "missing query parameter 'aor'" });
    if (aorText.length > MAX_LOOKUP_AOR_CHARS) return json(400, { error: `'aor' longer than ${MAX_LOOKUP_AOR_CHARS} characters` });
    let aor: string | undefined;
    try {
      // 'bob' is bob of this overlay, as when dialling; 'bob@domain' and full URIs are taken as given
      const uri = aorText.includes(':') ? aorText : aorText.includes('@') ? `sip:${aorText}` : `sip:${aorText}@${src.overlay}`;
      aor = src.peer.identity.canonicalAor(parseUri(uri));
    } catch (err) {
      // the value is quoted as JSON text: it may hold CR LF or NUL
      return json(400, { error: `not a SIP URI: ${JSON.stringify(aorText)} (${String(err)})` });
    }
    if (aor === undefined) return json(400, { error: `no user part in ${JSON.stringify(aorText)}` });
    // the registrar's rule (issue 14): an AoR no REGISTER could store is not looked up
    const bad = aorProblem(aor);
    if (bad !== undefined) return json(400, { error: bad });
    const now = src.clock.now();
    let bindings: Binding[];
    try {
      bindings = await src.peer.location.lookup(aor);
    } catch (e) {
      return json(502, { aor, error: `lookup failed: ${e instanceof Error ? e.message : String(e)}` });
    }
    let overlay: object | null = null;
    if (src.describeAor !== undefined) {
      try {
        overlay = await src.describeAor(aor);
      } catch (e) {
        overlay = { error: e instanceof Error ? e.message : String(e) };
      }
    }
    return json(200, { aor, contacts: bindings.map((b) => bindingView(b, now)), overlay });
  }
  if (url.pathname === '/api/overlay/lookup') {
    // routes a Ping to the peer responsible for a Resource-ID (hex) and says who answered
    const node = src.overlayNode;
    if (node === undefined) return json(404, { error: 'this peer runs no overlay (--standalone)' });
    const hex = url.searchParams.get('id') ?? '';
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== node.ring.bytes * 2) return json(400, { error: `id must be ${node.ring.bytes * 2} hex digits` });
    const t0 = src.clock.now();
    const a = await node.requestResource(Uint8Array.from(Buffer.from(hex, 'hex')), MessageCode.ping_req, encodePingReq({ padding: new Uint8Array(0) }));
    const ms = src.clock.now() - t0;
    if (!a.ok) return json(504, { id: hex, ok: false, error: a.info, errorCode: a.errorCode, ms });
    return json(200, { id: hex, ok: true, responder: a.responder === undefined ? null : Buffer.from(a.responder).toString('hex'), hops: a.hops, ms });
  }
  // the server-rendered page: the whole dashboard without JavaScript (the live one, dashboard/, takes '/')
  if (url.pathname === '/' || url.pathname === '/plain') {
    const p = parsePage(url.searchParams);
    if (!p.ok) return json(400, { error: p.error });
    return { status: 200, contentType: 'text/html; charset=utf-8', body: dashboardHtml(src, p.page) };
  }
  return json(404, { error: `no such endpoint: ${url.pathname}` });
}

function dashboardHtml(src: StatusSource, page: StatusPage): string {
  const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const now = src.clock.now();
  const regs = src.registrations();
  const statics = src.staticRegistrations?.() ?? [];
  const contactText = (b: Binding): string => (bindingView(b, now, true) as { contact: string }).contact;
  const rows = pageOf(regs, page)
    .map(([aor, b]) => `<tr><td>${esc(aor)}</td><td>${b.map((x) => esc(contactText(x))).join('<br>')}</td></tr>`)
    .join('');
  const shown = (total: number): string => {
    const from = Math.min(page.offset, total);
    const to = Math.min(page.offset + page.limit, total);
    return `${total} registrations${to - from < total ? ` (${from === to ? 'none' : `${from + 1}–${to}`} shown; ?offset=&amp;limit= for others)` : ''}`;
  };
  const staticRows = pageOf(statics, page)
    .map((r) => `<tr><td>${esc(r.aor)}</td><td>${r.contacts.map(esc).join('<br>')}</td><td>${esc(`${r.state}, ${r.storedForSec} s left`)}</td></tr>`)
    .join('');
  return `<!doctype html><meta charset="utf-8"><title>p2psip ${esc(src.overlay)}</title>
<h1>p2psip peer — ${esc(src.overlay)}</h1>
<p>Node-ID: ${esc(src.overlayNode?.status().nodeId ?? 'none (stand-alone)')} — state ${esc(src.overlayNode?.state ?? 'standalone')}</p>
<p>Successors: ${esc((src.overlayNode?.status().successors ?? []).join(', '))}<br>Predecessors: ${esc((src.overlayNode?.status().predecessors ?? []).join(', '))}</p>
<p>SIP front: ${src.peer.addresses.map((a) => esc(`${a.protocol}:${a.host}:${a.port}`)).join(', ')}</p>
<h2>Registrations</h2><p>${shown(regs.length)}</p><table border="1"><tr><th>AoR</th><th>Contacts</th></tr>${rows}</table>${statics.length === 0 ? '' : `
<h2>Static registrations</h2><p>${shown(statics.length)}</p><table border="1"><tr><th>AoR</th><th>Contacts</th><th>Store</th></tr>${staticRows}</table>`}
<p><a href="/api/status">/api/status</a></p>`;
}

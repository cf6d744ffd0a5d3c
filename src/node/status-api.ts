/**
 * The JSON API behind `GET /api/status` and `GET /api/lookup` (DESIGN.md contract), as a pure
 * handler: tests call it directly, the platform HTTP server only carries it.
 */
import type { Clock } from '../lib/clock.js';
import { formatNameAddr, parseUri } from '../sip/message/index.js';
import type { Binding } from '../sip/core/location-service.js';
import type { SipPeer } from './sip-peer.js';
import type { OverlayNode } from '../reload/overlay/overlay-node.js';
import { MessageCode, encodePingReq } from '../reload/codec/index.js';
import { STATIC_CALL_ID, type StaticRegistrationStatus } from '../usages/sip/static-registrations.js';

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
}

export interface ApiReply {
  status: number;
  body: string;
  contentType: string;
}

const json = (status: number, value: unknown): ApiReply => ({
  status,
  body: JSON.stringify(value, null, 2),
  contentType: 'application/json',
});

function bindingView(b: Binding, now: number): object {
  return {
    contact: formatNameAddr(b.contact),
    expiresIn: Math.max(0, Math.round((b.expiresAt - now) / 1000)),
    q: b.q,
    source: `${b.source.protocol}:${b.source.host}:${b.source.port}`,
    ...(b.callId === STATIC_CALL_ID ? { static: true } : {}),
  };
}

export function statusBody(src: StatusSource): object {
  const now = src.clock.now();
  const regs = src.registrations();
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
    storedResources: src.storageSummary?.().resources ?? 0,
    storage: src.storageSummary?.() ?? null,
    localRegistrations: regs.map(([aor, bindings]) => ({ aor, contacts: bindings.map((b) => bindingView(b, now)) })),
    staticRegistrations: src.staticRegistrations?.() ?? [],
    sipUsage: src.sipUsageStats?.() ?? null,
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
  if (url.pathname === '/api/status') return json(200, statusBody(src));
  if (url.pathname === '/api/lookup') {
    const aorText = url.searchParams.get('aor');
    if (aorText === null || aorText === '') return json(400, { error: "missing query parameter 'aor'" });
    let aor: string | undefined;
    try {
      aor = src.peer.identity.canonicalAor(parseUri(aorText.includes(':') ? aorText : `sip:${aorText}`));
    } catch (err) {
      return json(400, { error: `not a SIP URI: ${aorText} (${String(err)})` });
    }
    if (aor === undefined) return json(400, { error: `no user part in ${aorText}` });
    const now = src.clock.now();
    const bindings = await src.peer.location.lookup(aor);
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
  if (url.pathname === '/') {
    return { status: 200, contentType: 'text/html; charset=utf-8', body: dashboardHtml(src) };
  }
  return json(404, { error: `no such endpoint: ${url.pathname}` });
}

function dashboardHtml(src: StatusSource): string {
  const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = src
    .registrations()
    .map(([aor, b]) => `<tr><td>${esc(aor)}</td><td>${b.map((x) => esc(formatNameAddr(x.contact))).join('<br>')}</td></tr>`)
    .join('');
  const staticRows = (src.staticRegistrations?.() ?? [])
    .map((r) => `<tr><td>${esc(r.aor)}</td><td>${r.contacts.map(esc).join('<br>')}</td><td>${esc(`${r.state}, ${r.storedForSec} s left`)}</td></tr>`)
    .join('');
  return `<!doctype html><meta charset="utf-8"><title>p2psip ${esc(src.overlay)}</title>
<h1>p2psip peer — ${esc(src.overlay)}</h1>
<p>Node-ID: ${esc(src.overlayNode?.status().nodeId ?? 'none (stand-alone)')} — state ${esc(src.overlayNode?.state ?? 'standalone')}</p>
<p>Successors: ${esc((src.overlayNode?.status().successors ?? []).join(', '))}<br>Predecessors: ${esc((src.overlayNode?.status().predecessors ?? []).join(', '))}</p>
<p>SIP front: ${src.peer.addresses.map((a) => esc(`${a.protocol}:${a.host}:${a.port}`)).join(', ')}</p>
<h2>Registrations</h2><table border="1"><tr><th>AoR</th><th>Contacts</th></tr>${rows}</table>${staticRows === '' ? '' : `
<h2>Static registrations</h2><table border="1"><tr><th>AoR</th><th>Contacts</th><th>Store</th></tr>${staticRows}</table>`}
<p><a href="/api/status">/api/status</a></p>`;
}

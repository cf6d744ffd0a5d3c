/**
 * Building the copy of a request sent to one target (RFC 3261 §16.6 steps 1–8).
 */
import { hostForUri } from '../../lib/ip.js';
import { formatUri, formatVia, hasParam, paramValue, parseMaxForwards, parseNameAddrList, splitFirstValue } from '../message/index.js';
import type { SipRequest, SipUri, Uri } from '../message/sip-message.js';
import type { TransportAddress, TransportProtocol } from '../transport/sip-transport.js';

/** Methods whose requests establish dialogs or subscriptions: we Record-Route them. */
const RECORD_ROUTED = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY', 'UPDATE', 'PRACK', 'INFO', 'MESSAGE', 'OPTIONS']);

export interface ForwardContext {
  /** Our address on the transport the request arrived on. */
  inbound: TransportAddress;
  /** Our address on the transport the copy leaves on. */
  outbound: TransportAddress;
  branch: string;
  recordRoute: boolean;
  /** More parameters of our Record-Route URI (`;name=value…`, e.g. the dialog's route tokens). */
  recordRouteParams?: string;
}

export function viaTransport(p: TransportProtocol): string {
  return p.toUpperCase();
}

/** `<sip:host:port;transport=x;lr>` naming us on one transport (`params`: more URI parameters). */
export function selfRouteUri(addr: TransportAddress, params = ''): string {
  const scheme = addr.protocol === 'tls' || addr.protocol === 'wss' ? 'sips' : 'sip';
  const transport = addr.protocol === 'udp' ? '' : `;transport=${addr.protocol === 'tls' ? 'tcp' : addr.protocol === 'wss' ? 'ws' : addr.protocol}`;
  return `<${scheme}:${hostForUri(addr.host)}:${addr.port}${transport};lr${params}>`;
}

/** Our Via for a request leaving on `out` (rport asked for, RFC 3581). */
export function selfVia(out: TransportAddress, branch: string): string {
  return formatVia({
    protocol: 'SIP/2.0',
    transport: viaTransport(out.protocol),
    host: hostForUri(out.host),
    port: out.port,
    params: [
      { name: 'branch', value: branch },
      ...(out.protocol === 'udp' ? [{ name: 'rport', value: undefined }] : []),
    ],
  });
}

/** Whether a forwarded `method` is Record-Routed by us. */
export function recordRoutes(method: string): boolean {
  return RECORD_ROUTED.has(method);
}

export function forwardRequest(req: SipRequest, target: Uri, ctx: ForwardContext): SipRequest {
  const headers = req.headers.clone();
  // §16.6 step 3: Max-Forwards.
  const mf = headers.get('max-forwards');
  headers.set('Max-Forwards', String(mf === undefined ? 70 : parseMaxForwards(mf) - 1));
  // §16.6 step 4: Record-Route (twice when the transport changes, RFC 5658).
  if (ctx.recordRoute && RECORD_ROUTED.has(req.method)) {
    const extra = ctx.recordRouteParams ?? '';
    if (ctx.inbound.protocol !== ctx.outbound.protocol || ctx.inbound.host !== ctx.outbound.host) {
      headers.prepend('Record-Route', selfRouteUri(ctx.inbound, extra));
      headers.prepend('Record-Route', selfRouteUri(ctx.outbound, extra));
    } else {
      headers.prepend('Record-Route', selfRouteUri(ctx.outbound, extra));
    }
  }
  // §16.6 step 8: Via.
  headers.prepend('Via', selfVia(ctx.outbound, ctx.branch));
  return { kind: 'request', method: req.method, uri: target, version: req.version, headers, body: req.body };
}

/** First Route entry of a request, if any. */
export function topRoute(req: SipRequest): { uri: Uri; lr: boolean } | undefined {
  const first = req.headers.get('route');
  if (first === undefined) return undefined;
  const na = parseNameAddrList(first)[0];
  if (na === undefined) return undefined;
  return { uri: na.uri, lr: na.uri.scheme === 'sip' || na.uri.scheme === 'sips' ? hasParam((na.uri as SipUri).params, 'lr') : false };
}

/**
 * §16.4: removes the Route entries naming us from the top of the request; `routedByUs` says whether
 * there was one, `params` lists the values of `param` (e.g. route tokens) they carried.
 */
export function popOwnRoutes(req: SipRequest, isSelf: (uri: Uri) => boolean, param: string): { routedByUs: boolean; params: string[] } {
  let routedByUs = false;
  const params: string[] = [];
  for (let top = topRouteUri(req); top !== undefined && isSelf(top); top = topRouteUri(req)) {
    if (top.scheme === 'sip' || top.scheme === 'sips') {
      const v = paramValue((top as SipUri).params, param);
      if (v !== undefined && v !== '') params.push(v);
    }
    popRoute(req);
    routedByUs = true;
  }
  return { routedByUs, params };
}

function topRouteUri(req: SipRequest): Uri | undefined {
  return topRoute(req)?.uri;
}

/** Removes the first Route entry (keeping the others of the same field). */
export function popRoute(req: SipRequest): void {
  const first = req.headers.get('route');
  if (first === undefined) return;
  const list = parseNameAddrList(first);
  if (list.length <= 1) {
    req.headers.removeFirst('route');
    return;
  }
  req.headers.replaceFirst('route', splitFirstListItem(first));
}

/** The text of a comma list after its first item (commas inside <> or quotes do not count). */
export function splitFirstListItem(value: string): string {
  return splitFirstValue(value)[1].replace(/^,\s*/, '');
}

/** §16.6 step 6 for a strict-routing next hop: the R-URI joins the end of Route, the top Route becomes R-URI. */
export function strictRouteRewrite(req: SipRequest): void {
  const top = topRoute(req);
  if (top === undefined) return;
  popRoute(req);
  req.headers.append('Route', `<${formatUri(req.uri)}>`);
  req.uri = top.uri;
}


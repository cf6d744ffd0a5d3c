/**
 * The notifier's side of a subscription dialog (RFC 6665 §4.2, RFC 3261 §12.1.1): what a SUBSCRIBE
 * we answer 2xx sets up, and the NOTIFY requests sent in it. The NOTIFY has no Via: the host's `send`
 * adds it (with the branch of the client transaction it starts) and sends to {@link nextHopUri}.
 */
import { SipHeaders, formatNameAddr, formatUri, hasParam, isSipUri, parseNameAddr, parseNameAddrList, parseUri } from '../../sip/message/index.js';
import type { SipRequest, Uri } from '../../sip/message/sip-message.js';
import { formatEventHeader, type EventHeader } from './event-header.js';

/** Most Record-Route entries kept for a subscription's route set. */
export const MAX_ROUTE_SET = 16;

/** A dialog this peer took as UAS (RFC 3261 §12.1.1): a subscription, a call voicemail answered. */
export interface UasDialog {
  callId: string;
  /** Our tag (the To tag of our 2xx). */
  localTag: string;
  /** The other party's From tag. */
  remoteTag: string;
  /** From of our requests: the request's To with our tag. */
  localParty: string;
  /** To of our requests: the request's From. */
  remoteParty: string;
  /** The other party's Contact URI: the Request-URI of our requests. */
  remoteTarget: string;
  /** The request's Record-Route values, in order. */
  routeSet: string[];
  /** Our next CSeq number. */
  localSeq: number;
}

/** The dialog state a notifier keeps. */
export interface NotifierDialog extends UasDialog {
  /** The subscriber's last CSeq number in the dialog. */
  remoteSeq: number;
}

export type DialogResult = { ok: true; dialog: NotifierDialog } | { ok: false; reason: string };

/** The `tag` of a From/To value, or undefined. */
export function tagOfParty(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const na = parseNameAddr(value);
    return na.params.find((p) => p.name.toLowerCase() === 'tag')?.value;
  } catch {
    return undefined;
  }
}

/** The Contact URI of a request (a SIP URI), or a reason it has none usable. */
export function remoteTargetOf(request: SipRequest): { ok: true; uri: string } | { ok: false; reason: string } {
  const contact = request.headers.get('contact');
  if (contact === undefined) return { ok: false, reason: `Bad Request - ${request.method} without Contact` };
  let uri: Uri;
  try {
    const list = parseNameAddrList(contact, 'Contact');
    if (list.length !== 1) return { ok: false, reason: `Bad Request - ${request.method} needs exactly one Contact` };
    uri = list[0]!.uri;
  } catch {
    return { ok: false, reason: 'Bad Request - Unreadable Contact' };
  }
  if (!isSipUri(uri)) return { ok: false, reason: 'Bad Request - Contact is not a SIP URI' };
  return { ok: true, uri: formatUri(uri) };
}

/** The Record-Route values of a request, in order (comma lists split); undefined when unreadable or too many. */
export function routeSetOf(request: SipRequest): string[] | undefined {
  const out: string[] = [];
  for (const v of request.headers.getAll('record-route')) {
    try {
      for (const na of parseNameAddrList(v, 'Record-Route')) out.push(formatNameAddr(na));
    } catch {
      return undefined;
    }
  }
  return out.length > MAX_ROUTE_SET ? undefined : out;
}

/** The dialog our 2xx with `localTag` to this request (a SUBSCRIBE, an INVITE we answer) creates (RFC 3261 §12.1.1). */
export function uasDialogOf(request: SipRequest, localTag: string): { ok: true; dialog: UasDialog } | { ok: false; reason: string } {
  const from = request.headers.get('from');
  const to = request.headers.get('to');
  const callId = request.headers.get('call-id');
  if (from === undefined || to === undefined || callId === undefined) return { ok: false, reason: 'Bad Request - Missing From, To or Call-ID' };
  const remoteTag = tagOfParty(from);
  if (remoteTag === undefined) return { ok: false, reason: 'Bad Request - From without tag' };
  const target = remoteTargetOf(request);
  if (!target.ok) return target;
  const routeSet = routeSetOf(request);
  if (routeSet === undefined) return { ok: false, reason: `Bad Request - Unreadable Record-Route or more than ${MAX_ROUTE_SET}` };
  return {
    ok: true,
    dialog: {
      callId,
      localTag,
      remoteTag,
      localParty: tagOfParty(to) === undefined ? `${to};tag=${localTag}` : to,
      remoteParty: from,
      remoteTarget: target.uri,
      routeSet,
      localSeq: 1,
    },
  };
}

/** The dialog a 2xx with `localTag` to this SUBSCRIBE creates (RFC 3261 §12.1.1). */
export function notifierDialog(subscribe: SipRequest, localTag: string, cseq: number): DialogResult {
  const d = uasDialogOf(subscribe, localTag);
  return d.ok ? { ok: true, dialog: { ...d.dialog, remoteSeq: cseq } } : d;
}

export interface NotifyContent {
  event: EventHeader;
  /** `active;expires=N` or `terminated;reason=R`. */
  subscriptionState: string;
  contentType: string | undefined;
  body: Uint8Array;
}

/**
 * The Request-URI and headers of a request of ours in `dialog` (RFC 3261 §12.2.1.1): Request-URI the
 * remote target, Route the route set (a strict first hop becomes the Request-URI, the target the
 * last Route), our CSeq (taken from the dialog, which it advances), Contact ours, Max-Forwards 70. No Via.
 */
export function uasDialogRequest(dialog: UasDialog, method: string, localContact: string): { ruri: string; headers: SipHeaders } {
  let ruri = dialog.remoteTarget;
  let routes = dialog.routeSet;
  const first = routes[0];
  if (first !== undefined && !looseRoute(first)) {
    ruri = formatUri(parseNameAddr(first, 'Route').uri);
    routes = [...routes.slice(1), `<${dialog.remoteTarget}>`];
  }
  const h = new SipHeaders();
  for (const r of routes) h.append('Route', r);
  h.append('Max-Forwards', '70');
  h.append('From', dialog.localParty);
  h.append('To', dialog.remoteParty);
  h.append('Call-ID', dialog.callId);
  h.append('CSeq', `${dialog.localSeq++} ${method}`);
  h.append('Contact', `<${localContact}>`);
  return { ruri, headers: h };
}

/**
 * A NOTIFY in `dialog` (RFC 6665 §4.2.2, RFC 3261 §12.2.1.1): Request-URI the remote target, Route
 * the route set (a strict first hop becomes the Request-URI, the target the last Route), our CSeq
 * (taken from the dialog, which it advances), Contact ours, Max-Forwards 70. No Via.
 */
export function buildNotify(dialog: NotifierDialog, localContact: string, content: NotifyContent): SipRequest {
  const { ruri, headers: h } = uasDialogRequest(dialog, 'NOTIFY', localContact);
  h.append('Event', formatEventHeader(content.event));
  h.append('Subscription-State', content.subscriptionState);
  if (content.contentType !== undefined) h.append('Content-Type', content.contentType);
  h.append('Content-Length', String(content.body.length));
  return { kind: 'request', method: 'NOTIFY', uri: parseUri(ruri), version: 'SIP/2.0', headers: h, body: content.body };
}

function looseRoute(route: string): boolean {
  try {
    const uri = parseNameAddr(route, 'Route').uri;
    return !isSipUri(uri) || hasParam(uri.params, 'lr');
  } catch {
    return true;
  }
}

/** Where a request of ours goes first: its first Route's URI, else its Request-URI (RFC 3261 §8.1.2). */
export function nextHopUri(request: SipRequest): Uri {
  const route = request.headers.get('route');
  if (route !== undefined) {
    try {
      const first = parseNameAddrList(route, 'Route')[0];
      if (first !== undefined) return first.uri;
    } catch {
      // an unreadable Route: the Request-URI
    }
  }
  return request.uri;
}

/**
 * The SIP texts of the presence load generator (bench/presence/presence-load.ts), pure: the
 * SUBSCRIBE (RFC 6665 §4.1.2.1, Event: presence, RFC 3856) and PUBLISH (RFC 3903 §4: initial
 * without SIP-If-Match, modify with it) it sends, a PIDF body (RFC 3863) whose note carries a
 * sequence number, the 200 it answers every NOTIFY with (RFC 6665 §4.1.3), and a small parser of
 * what arrives (requests and responses over UDP, one message per datagram: compact header forms
 * expanded, RFC 3261 §7.3.3).
 *
 * Only what the generator needs is parsed; a datagram that is not a SIP message gives undefined.
 */

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** RFC 3261 §7.3.3 compact forms the servers may send (and RFC 6665's `o`). */
const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id',
  f: 'from',
  t: 'to',
  v: 'via',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  o: 'event',
  k: 'supported',
  e: 'content-encoding',
  s: 'subject',
};

export const PIDF_CONTENT_TYPE = 'application/pidf+xml';

/** The note text that carries sequence number `seq` (`bseq<seq>x`: found again in any server's NOTIFY body). */
export function seqNote(seq: number): string {
  return `bseq${seq}x`;
}

/** The highest sequence number a NOTIFY body carries (several publications may be composed), undefined if none. */
export function readSeq(body: string): number | undefined {
  let best: number | undefined;
  for (const m of body.matchAll(/bseq(\d{1,12})x/g)) {
    const n = Number(m[1]);
    if (best === undefined || n > best) best = n;
  }
  return best;
}

/** A PIDF document (RFC 3863): one open tuple whose note is {@link seqNote}. */
export function pidfBody(aor: string, seq: number): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${aor}">` +
    `<tuple id="bench"><status><basic>open</basic></status><note>${seqNote(seq)}</note></tuple>` +
    '</presence>\r\n'
  );
}

export interface SubscribeText {
  /** The watcher's user part (its AoR: sip:<user>@<domain>). */
  readonly watcher: string;
  readonly presentity: string;
  readonly domain: string;
  /** The socket the request leaves from (Via, Contact). */
  readonly local: HostPort;
  readonly callId: string;
  readonly fromTag: string;
  readonly branch: string;
  readonly cseq: number;
  readonly expires: number;
}

/** An initial SUBSCRIBE to the presentity's presence (a retransmission is the same text). */
export function subscribeRequest(s: SubscribeText): string {
  const target = `sip:${s.presentity}@${s.domain}`;
  return message(`SUBSCRIBE ${target} SIP/2.0`, [
    `Via: SIP/2.0/UDP ${s.local.host}:${s.local.port};branch=${s.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:${s.watcher}@${s.domain}>;tag=${s.fromTag}`,
    `To: <${target}>`,
    `Call-ID: ${s.callId}`,
    `CSeq: ${s.cseq} SUBSCRIBE`,
    `Contact: <sip:${s.watcher}@${s.local.host}:${s.local.port}>`,
    'Event: presence',
    `Accept: ${PIDF_CONTENT_TYPE}`,
    `Expires: ${s.expires}`,
  ]);
}

export interface PublishText {
  readonly presentity: string;
  readonly domain: string;
  readonly local: HostPort;
  readonly callId: string;
  readonly fromTag: string;
  readonly branch: string;
  readonly cseq: number;
  readonly expires: number;
  /** SIP-If-Match: the entity-tag of the publication modified; none: an initial publication. */
  readonly etag: string | undefined;
  readonly seq: number;
}

/** A PUBLISH of the presentity's state with note {@link seqNote}(seq). */
export function publishRequest(p: PublishText): string {
  const aor = `sip:${p.presentity}@${p.domain}`;
  return message(
    `PUBLISH ${aor} SIP/2.0`,
    [
      `Via: SIP/2.0/UDP ${p.local.host}:${p.local.port};branch=${p.branch};rport`,
      'Max-Forwards: 70',
      `From: <${aor}>;tag=${p.fromTag}`,
      `To: <${aor}>`,
      `Call-ID: ${p.callId}`,
      `CSeq: ${p.cseq} PUBLISH`,
      'Event: presence',
      `Expires: ${p.expires}`,
      ...(p.etag === undefined ? [] : [`SIP-If-Match: ${p.etag}`]),
      `Content-Type: ${PIDF_CONTENT_TYPE}`,
    ],
    pidfBody(aor, p.seq),
  );
}

function message(startLine: string, headers: readonly string[], body = ''): string {
  return `${startLine}\r\n${headers.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n${body}`;
}

/** A parsed datagram: its start line, its headers (lower-case full names, in order) and its body. */
export interface SipText {
  /** Request method, or undefined for a response. */
  readonly method: string | undefined;
  /** Response status, or undefined for a request. */
  readonly status: number | undefined;
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: string;
}

/** Parses one SIP message; undefined when the text is not one (no start line, no header end). */
export function parseSip(text: string): SipText | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = text.slice(0, end).split('\r\n');
  const start = lines[0] ?? '';
  let method: string | undefined;
  let status: number | undefined;
  const resp = /^SIP\/2\.0 (\d{3}) /.exec(start) ?? /^SIP\/2\.0 (\d{3})$/.exec(start);
  if (resp !== null) status = Number(resp[1]);
  else {
    const req = /^([A-Z]+) \S+ SIP\/2\.0$/.exec(start);
    if (req === null) return undefined;
    method = req[1];
  }
  const headers = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[raw] ?? raw;
    const value = line.slice(colon + 1).trim();
    const list = headers.get(name);
    if (list === undefined) headers.set(name, [value]);
    else list.push(value);
  }
  let body = text.slice(end + 4);
  const length = Number(headers.get('content-length')?.[0]);
  if (Number.isInteger(length) && length >= 0 && length < body.length) body = body.slice(0, length);
  return { method, status, headers, body };
}

/** The first value of a header (full lower-case name). */
export function headerOf(m: SipText, name: string): string | undefined {
  return m.headers.get(name)?.[0];
}

/** CSeq number and method, undefined when unreadable. */
export function cseqOf(m: SipText): { seq: number; method: string } | undefined {
  const r = /^(\d{1,10})\s+([A-Za-z]+)$/.exec(headerOf(m, 'cseq') ?? '');
  return r === null ? undefined : { seq: Number(r[1]), method: (r[2] ?? '').toUpperCase() };
}

/** The tag parameter of a From or To value. */
export function tagOf(nameAddr: string | undefined): string | undefined {
  return nameAddr === undefined ? undefined : /;\s*tag=([^;\s>]+)/i.exec(nameAddr.replace(/<[^>]*>/, ''))?.[1];
}

/**
 * The 200 OK to a received request (RFC 3261 §8.2.6.2: Via, From, To, Call-ID and CSeq copied; the
 * To already carries the tag of the dialog a NOTIFY belongs to).
 */
export function okResponse(m: SipText): string {
  const copy = (name: string, label: string): string[] => (m.headers.get(name) ?? []).map((v) => `${label}: ${v}`);
  return message('SIP/2.0 200 OK', [...copy('via', 'Via'), ...copy('from', 'From'), ...copy('to', 'To'), ...copy('call-id', 'Call-ID'), ...copy('cseq', 'CSeq')]);
}

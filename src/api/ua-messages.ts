/**
 * The requests the application's user agent writes (issue 17): out of dialog through the front, ACK of
 * a 2xx (RFC 3261 §13.2.2.4), CANCEL (§9.1). Pure: the local address and randomness are given.
 */
import type { Random } from '../lib/random.js';
import { SipHeaders, callId as callIdOf, cseqOf, formatUri, generateBranch, parseNameAddrList, parseUri } from '../sip/message/index.js';
import type { SipRequest, SipResponse } from '../sip/message/sip-message.js';
import type { OutboundTarget, TransportAddress } from '../sip/transport/sip-transport.js';
import { P2psipApiError } from './api-error.js';
import { uriOfNameAddr } from './sip-text.js';
import { dialogTarget } from './ua-dialogs.js';

export interface RequestFields {
  method: string;
  ruri: string;
  from: string;
  to: string;
  callId: string;
  cseq: number;
  contact: string | undefined;
  extra: ReadonlyArray<readonly [string, string]>;
  body: Uint8Array;
}

/** A request from `local` (UDP): a fresh branch, rport (RFC 3581), Max-Forwards 70, Content-Length. */
export function buildRequest(o: RequestFields, local: TransportAddress, random: Random): SipRequest {
  const host = local.host.includes(':') ? `[${local.host}]` : local.host;
  const h = new SipHeaders([
    ['Via', `SIP/2.0/UDP ${host}:${local.port};branch=${generateBranch(random)};rport`],
    ['Max-Forwards', '70'],
    ['From', o.from],
    ['To', o.to],
    ['Call-ID', o.callId],
    ['CSeq', `${o.cseq} ${o.method}`],
    ...(o.contact === undefined ? [] : [['Contact', o.contact] as const]),
    ...o.extra,
    ['Content-Length', String(o.body.length)],
  ]);
  return { kind: 'request', method: o.method, uri: uriOf(o.ruri), version: 'SIP/2.0', headers: h, body: o.body };
}

/** The ACK of a 2xx to `invite` and where it goes: to the Contact, along the reversed Record-Route set. */
export function ackOf(invite: SipRequest, ok: SipResponse, local: TransportAddress, random: Random): { ack: SipRequest; target: OutboundTarget } | undefined {
  const contact = ok.headers.get('contact');
  if (contact === undefined) return undefined;
  const routes: string[] = [];
  for (const v of ok.headers.getAll('record-route')) {
    try {
      for (const na of parseNameAddrList(v, 'Record-Route')) routes.push(`<${formatUri(na.uri)}>`);
    } catch {
      // an unreadable Record-Route is left out
    }
  }
  routes.reverse();
  const remoteTarget = uriOfNameAddr(contact);
  const target = dialogTarget(routes, remoteTarget);
  if (target === undefined) return undefined;
  const ack = buildRequest(
    {
      method: 'ACK',
      ruri: remoteTarget,
      from: invite.headers.get('from') ?? '',
      to: ok.headers.get('to') ?? '',
      callId: callIdOf(invite),
      cseq: cseqOf(invite).seq,
      contact: undefined,
      extra: routes.map((r): [string, string] => ['Route', r]),
      body: new Uint8Array(0),
    },
    local,
    random,
  );
  return { ack, target };
}

/** The CANCEL of `invite` (RFC 3261 §9.1): its Request-URI, Call-ID, From, To, top Via and CSeq number. */
export function cancelOf(invite: SipRequest): SipRequest {
  const h = new SipHeaders([
    ['Via', invite.headers.get('via') ?? ''],
    ['Max-Forwards', '70'],
    ['From', invite.headers.get('from') ?? ''],
    ['To', invite.headers.get('to') ?? ''],
    ['Call-ID', callIdOf(invite)],
    ['CSeq', `${cseqOf(invite).seq} CANCEL`],
    ['Content-Length', '0'],
  ]);
  return { kind: 'request', method: 'CANCEL', uri: invite.uri, version: 'SIP/2.0', headers: h, body: new Uint8Array(0) };
}

function uriOf(text: string): SipRequest['uri'] {
  try {
    return parseUri(text);
  } catch (e) {
    throw new P2psipApiError('bad-argument', `not a URI: ${JSON.stringify(text).slice(0, 80)} (${e instanceof Error ? e.message : String(e)})`);
  }
}

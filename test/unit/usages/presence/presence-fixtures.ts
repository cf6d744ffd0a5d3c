/** Shared fixtures of the presence tests: SIP requests from text, a fake server transaction, PIDF samples. */
import assert from 'node:assert/strict';
import type { ServiceRequest } from '../../../../src/sip/core/local-services.js';
import { parseMessage } from '../../../../src/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message.js';
import type { ServerTransaction } from '../../../../src/sip/transaction/transaction-contract.js';

export const DOMAIN = 'p2psip.local';

export interface RequestSpec {
  method: string;
  uri?: string;
  from?: string;
  fromTag?: string;
  to?: string;
  toTag?: string;
  callId?: string;
  cseq?: number;
  contact?: string | null;
  headers?: Array<[string, string]>;
  body?: string;
}

/** A request parsed from text, as the proxy would hand it on. */
export function sipRequest(s: RequestSpec): SipRequest {
  const body = s.body ?? '';
  const bytes = Buffer.from(body, 'utf8');
  const to = s.to ?? s.uri ?? `sip:alice@${DOMAIN}`;
  const lines = [
    `${s.method} ${s.uri ?? `sip:alice@${DOMAIN}`} SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK' + Math.abs(hash(JSON.stringify(s))).toString(36),
    'Max-Forwards: 70',
    `From: <${s.from ?? `sip:bob@${DOMAIN}`}>;tag=${s.fromTag ?? 'ft1'}`,
    `To: <${to}>${s.toTag === undefined ? '' : `;tag=${s.toTag}`}`,
    `Call-ID: ${s.callId ?? 'call-1'}`,
    `CSeq: ${s.cseq ?? 1} ${s.method}`,
  ];
  if (s.contact !== null) lines.push(`Contact: <${s.contact ?? 'sip:bob@192.0.2.10:5060'}>`);
  for (const [n, v] of s.headers ?? []) lines.push(`${n}: ${v}`);
  lines.push(`Content-Length: ${bytes.length}`);
  const text = Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), bytes]);
  const r = parseMessage(text, { datagram: false });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  assert.ok(r.message.kind === 'request');
  return r.message;
}

function hash(t: string): number {
  let h = 7;
  for (let i = 0; i < t.length; i++) h = (h * 31 + t.charCodeAt(i)) | 0;
  return h;
}

/** A server transaction that records what is answered. */
export class FakeServerTransaction implements ServerTransaction {
  readonly id = 'tx';
  readonly isInvite = false;
  readonly inbound;
  state: ServerTransaction['state'] = 'trying';
  finalResponse: SipResponse | undefined;
  onTerminated: (() => void) | undefined;
  readonly responses: SipResponse[] = [];

  constructor(readonly request: SipRequest) {
    this.inbound = { message: request, source: { protocol: 'udp' as const, host: '192.0.2.10', port: 5060 }, local: { protocol: 'udp' as const, host: '192.0.2.1', port: 5060 }, flowId: undefined };
  }

  respond(response: SipResponse): void {
    this.responses.push(response);
    if (response.status >= 200) {
      this.finalResponse = response;
      this.state = 'completed';
    }
  }

  /** The final response (asserts there is one). */
  get final(): SipResponse {
    assert.ok(this.finalResponse, 'no final response');
    return this.finalResponse;
  }
}

let tagSeq = 0;

/** A ServiceRequest for `request` (aor: the Request-URI's AoR unless given). */
export function serviceRequest(request: SipRequest, o: { aor?: string | null; user?: string; fromPeer?: boolean; toTag?: string } = {}): { r: ServiceRequest; tx: FakeServerTransaction } {
  const tx = new FakeServerTransaction(request);
  const uri = request.uri as { user?: string; host?: string };
  const aor = o.aor === null ? undefined : (o.aor ?? (uri.user ? `sip:${uri.user}@${DOMAIN}` : undefined));
  return { r: { tx, request, aor, toTag: o.toTag ?? `tt${++tagSeq}`, fromPeer: o.fromPeer ?? false, user: o.user, tryingSent: false }, tx };
}

/** Lets pending promise callbacks run (no timers involved). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

export function bodyText(m: { body: Uint8Array }): string {
  return new TextDecoder().decode(m.body);
}

/** What baresip's presence module publishes (RFC 3863 tuple + RPID person, RFC 4480). */
export const BARESIP_PIDF = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
    entity="sip:alice@p2psip.local">
  <dm:person id="p4159">
    <rpid:activities><rpid:busy/></rpid:activities>
  </dm:person>
  <tuple id="t4109">
    <status><basic>open</basic></status>
    <contact>sip:alice@p2psip.local</contact>
  </tuple>
</presence>
`;

/** What linphone publishes: a timestamped tuple with a contact priority, and a person with a note. */
export const LINPHONE_PIDF = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@p2psip.local">
  <tuple id="qmg0sk">
    <status>
      <basic>open</basic>
    </status>
    <contact priority="0.8">sip:alice@192.0.2.20:5060</contact>
    <note xml:lang="en">Available &amp; ready</note>
    <timestamp>2024-05-01T10:00:00Z</timestamp>
  </tuple>
  <dm:person id="o1qdks">
    <rpid:activities>
      <rpid:on-the-phone/>
    </rpid:activities>
    <dm:note>In a call</dm:note>
  </dm:person>
</presence>
`;

/** A minimal document with one tuple of status `basic`. */
export function simplePidf(basic: 'open' | 'closed', id = 'd1', entity = `sip:alice@${DOMAIN}`): string {
  return `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}"><tuple id="${id}"><status><basic>${basic}</basic></status></tuple></presence>`;
}

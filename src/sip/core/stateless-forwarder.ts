/**
 * Stateless forwarding (RFC 3261 §16.11): the ACK for a 2xx (its own end-to-end transaction)
 * and responses that match no client transaction (2xx retransmissions, §16.7 / RFC 6026).
 */
import { fnv1a32 } from '../../lib/fnv1a.js';
import { isIpLiteral, stripBrackets } from '../../lib/ip.js';
import { BRANCH_COOKIE, paramValue, parseMaxForwards, parseVia, topVia } from '../message/index.js';
import type { SipRequest, SipResponse } from '../message/sip-message.js';
import type { InboundMessage, OutboundTarget, SipTransport, TransportAddress, TransportProtocol } from '../transport/sip-transport.js';
import { forwardRequest, popOwnRoutes } from './forward-request.js';
import { ROUTE_TOKEN_PARAM } from './route-token.js';
import type { LocalIdentity } from './local-identity.js';
import type { MediaHook } from './media-hook.js';
import { stripTopVia } from './strip-top-via.js';

export interface StatelessForwarderDeps {
  transport: SipTransport;
  identity: LocalIdentity;
  self(protocol: TransportProtocol): TransportAddress | undefined;
  /** Next hop after our Routes were removed; `routedByUs` tells whether one was there, `tokens` what route tokens they carried. */
  nextHop(req: SipRequest, routedByUs: boolean, tokens: readonly string[]): OutboundTarget | undefined;
  /** The media relay's view of ACKs (an answer in the ACK) and of 2xx retransmissions. */
  media?: MediaHook;
}

export interface StatelessStats {
  acksForwarded: number;
  responsesForwarded: number;
  dropped: number;
}

export class StatelessForwarder {
  readonly stats: StatelessStats = { acksForwarded: 0, responsesForwarded: 0, dropped: 0 };

  constructor(private readonly deps: StatelessForwarderDeps) {}

  forwardAck(inbound: InboundMessage): void {
    const received = inbound.message;
    if (received.kind !== 'request') return;
    const mf = received.headers.get('max-forwards');
    if (mf !== undefined && parseMaxForwards(mf) === 0) return this.drop();
    const req: SipRequest = { ...received, headers: received.headers.clone() };
    const { routedByUs, params: tokens } = popOwnRoutes(req, (uri) => this.deps.identity.isSelfUri(uri), ROUTE_TOKEN_PARAM);
    const next = this.deps.nextHop(req, routedByUs, tokens);
    if (next === undefined) return this.drop();
    const out = this.deps.self(next.destination.protocol);
    const inb = this.deps.self(inbound.local.protocol);
    if (out === undefined || inb === undefined) return this.drop();
    // A branch derived from the incoming one: retransmitted ACKs keep the same branch (§16.11).
    const branch = `${BRANCH_COOKIE}-p2pack${fnv1a32(paramValue(topVia(received).params, 'branch') ?? '')}`;
    const copy = forwardRequest(req, req.uri, { inbound: inb, outbound: out, branch, recordRoute: false });
    // an ACK cannot be refused: an SDP the relay cannot take goes as it is
    if (this.deps.media?.request(copy, received, inbound.source, next.destination) !== undefined) copy.body = received.body;
    this.deps.transport.send(copy, next);
    this.stats.acksForwarded++;
  }

  forwardResponse(inbound: InboundMessage): void {
    const res = inbound.message;
    if (res.kind !== 'response') return;
    const top = topVia(res);
    const branch = paramValue(top.params, 'branch') ?? '';
    // Only responses to requests we forwarded go on (RFC 3261 §16.7 step 3; RFC 4475 bcast).
    if (!branch.startsWith(`${BRANCH_COOKIE}-p2p`) || !this.deps.identity.isLocalHost(top.host)) return this.drop();
    const upstream = stripTopVia(res);
    if (upstream === undefined) return this.drop();
    const target = viaTarget(upstream);
    if (target === undefined) return this.drop();
    this.deps.transport.send(this.deps.media === undefined ? upstream : this.deps.media.response(upstream, target.destination, inbound.source), target);
    this.stats.responsesForwarded++;
  }

  private drop(): void {
    this.stats.dropped++;
  }
}

/** RFC 3261 §18.2.2 / RFC 3581 §4: where a response goes by its top Via (numeric hosts only). */
function viaTarget(res: SipResponse): OutboundTarget | undefined {
  const first = res.headers.get('via');
  const via = first === undefined ? undefined : parseVia(first)[0];
  if (via === undefined) return undefined;
  const host = stripBrackets(paramValue(via.params, 'received') || via.host);
  if (!isIpLiteral(host) || host === '255.255.255.255') return undefined;
  const rport = paramValue(via.params, 'rport');
  const port = rport !== undefined && rport !== '' ? Number(rport) : (via.port ?? 5060);
  const t = via.transport.toLowerCase();
  const protocol: TransportProtocol = t === 'tcp' || t === 'tls' || t === 'ws' || t === 'wss' ? t : 'udp';
  return { destination: { protocol, host, port } };
}

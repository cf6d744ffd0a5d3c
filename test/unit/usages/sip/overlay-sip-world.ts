/**
 * An in-memory P2PSIP world for the SIP usage's tests: N SipPeers (each with its SipUsage) on a
 * MemoryNetwork, a shared MemoryRegistrationStore standing in for overlay storage, and a fake
 * overlay that delivers AppAttach straight to the addressed peer's handler. ManualClock, no sockets.
 */
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { ReloadErrorCode } from '../../../../src/reload/codec/index.js';
import type { Destination } from '../../../../src/reload/codec/index.js';
import type { InboundRequest, OverlayAnswer, RequestHandler } from '../../../../src/reload/overlay/overlay-types.js';
import { MemoryLocationService } from '../../../../src/sip/core/memory-location-service.js';
import { NumericOnlyResolver } from '../../../../src/sip/core/target-resolver.js';
import { parseMessage, serializeMessage } from '../../../../src/sip/message/index.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../../src/sip/message/sip-message.js';
import { MemoryNetwork, type MemoryDriver } from '../../../support/sip/memory-driver.js';
import type { TransportAddress } from '../../../../src/sip/transport/sip-transport.js';
import { SipPeer } from '../../../../src/node/sip-peer.js';
import { MemoryRegistrationStore } from '../../../support/usages/memory-registration-store.js';
import { advance, settle } from '../../../support/settle.js';
import { SipUsage, type SipUsageOptions } from '../../../../src/usages/sip/sip-usage.js';
import type { RecordStore } from '../../../../src/lib/record-store.js';

export const OVERLAY = 'p2psip.local';

/** A peer's persisted state (issue 14): its bindings and the AoRs it stored, kept across a "restart". */
export interface PeerPersistence {
  bindings: RecordStore;
  marks: RecordStore;
}

export interface WorldPeer {
  name: string;
  nodeId: Uint8Array;
  addr: TransportAddress;
  sip: SipPeer;
  usage: SipUsage;
  inner: MemoryLocationService;
  handlers: Map<number, RequestHandler>;
  /** When false the fake overlay gives no answer for this node (an unreachable peer). */
  reachable: boolean;
}

export class TestPhone {
  readonly inbox: SipMessage[] = [];
  private seq = 0;

  constructor(
    readonly name: string,
    readonly driver: MemoryDriver,
    readonly addr: TransportAddress,
    readonly peer: WorldPeer,
  ) {}

  get contact(): string {
    return `sip:${this.name}@${this.addr.host}:${this.addr.port}`;
  }

  sendText(text: string, to: TransportAddress = this.peer.addr): void {
    this.driver.sendDatagram(this.addr, to, Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1'));
  }

  send(msg: SipMessage, to: TransportAddress = this.peer.addr): void {
    this.driver.sendDatagram(this.addr, to, serializeMessage(msg));
  }

  register(expires = 3600, callId = `reg-${this.name}`): void {
    const n = ++this.seq;
    this.sendText(
      [
        `REGISTER sip:${OVERLAY} SIP/2.0`,
        `Via: SIP/2.0/UDP ${this.addr.host}:${this.addr.port};branch=z9hG4bKreg${this.name}${n};rport`,
        'Max-Forwards: 70',
        `From: <sip:${this.name}@${OVERLAY}>;tag=r${this.name}`,
        `To: <sip:${this.name}@${OVERLAY}>`,
        `Call-ID: ${callId}`,
        `CSeq: ${n} REGISTER`,
        `Contact: <${this.contact}>`,
        `Expires: ${expires}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    );
  }

  request(method: string, ruri: string, extra: string[] = []): void {
    const n = ++this.seq;
    this.sendText(
      [
        `${method} ${ruri} SIP/2.0`,
        `Via: SIP/2.0/UDP ${this.addr.host}:${this.addr.port};branch=z9hG4bK${this.name}${n}m;rport`,
        'Max-Forwards: 70',
        `From: <sip:${this.name}@${OVERLAY}>;tag=${this.name}tag`,
        `To: <${ruri}>`,
        `Call-ID: ${this.name}-call-${n}`,
        `CSeq: ${n} ${method}`,
        `Contact: <${this.contact}>`,
        ...extra,
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    );
  }

  /** Answers a received request straight back to where it came from (its top Via, i.e. the peer). */
  reply(req: SipRequest, status: number): void {
    const lines = [`SIP/2.0 ${status} Answer`];
    for (const v of req.headers.getAll('via')) lines.push(`Via: ${v}`);
    for (const rr of req.headers.getAll('record-route')) lines.push(`Record-Route: ${rr}`);
    lines.push(`From: ${req.headers.get('from') ?? ''}`, `To: ${req.headers.get('to') ?? ''};tag=${this.name}tt`);
    lines.push(`Call-ID: ${req.headers.get('call-id') ?? ''}`, `CSeq: ${req.headers.get('cseq') ?? ''}`, 'Content-Length: 0', '', '');
    // to the top Via's sent-by, as a phone does (the peer that sent it, a restarted one too)
    const top = /^SIP\/2\.0\/UDP ([0-9.]+):(\d+)/i.exec(req.headers.getAll('via')[0] ?? '');
    this.sendText(lines.join('\n'), top === null ? this.peer.addr : { protocol: 'udp', host: top[1]!, port: Number(top[2]) });
  }

  requests(method?: string): SipRequest[] {
    return this.inbox.filter((m): m is SipRequest => m.kind === 'request' && (method === undefined || m.method === method));
  }

  responses(status?: number): SipResponse[] {
    return this.inbox.filter((m): m is SipResponse => m.kind === 'response' && (status === undefined || m.status === status));
  }
}

export class OverlaySipWorld {
  readonly clock = new ManualClock(1_000_000);
  readonly random = new SeededRandom(7);
  readonly network = new MemoryNetwork();
  readonly store = new MemoryRegistrationStore(this.clock);
  readonly peers: WorldPeer[] = [];
  /** AppAttach requests the fake overlay carried. */
  overlayRequests = 0;
  /** Requests the fake overlay carried, by RELOAD message code. */
  readonly overlayByCode = new Map<number, number>();
  private phones = 0;

  constructor(private readonly usageOptions: SipUsageOptions = {}) {}

  /**
   * `options` are merged over the world's usage options for this peer only. `persist`: the peer
   * keeps its bindings and stored AoRs there; `nodeId`: the Node-ID of an earlier peer (a restart).
   */
  async addPeer(name: string, options: SipUsageOptions = {}, extra: { persist?: PeerPersistence; nodeId?: Uint8Array } = {}): Promise<WorldPeer> {
    const k = this.peers.length + 1;
    const host = `198.18.0.${k}`;
    const driver = this.network.createDriver({ hosts: [host] });
    const inner = new MemoryLocationService(this.clock, extra.persist === undefined ? {} : { store: extra.persist.bindings });
    const nodeId = extra.nodeId ?? new Uint8Array(16).fill(k);
    const handlers = new Map<number, RequestHandler>();
    const addr: TransportAddress = { protocol: 'udp', host, port: 5060 };
    let sip: SipPeer | undefined;
    const usage = new SipUsage(
      {
        clock: this.clock,
        random: this.random,
        overlay: { idBytes: nodeId, request: (d, c, b) => this.deliver(d, c, b), handle: (c, h) => void handlers.set(c, h) },
        directory: this.store.forNode(nodeId),
        inner,
        overlayName: OVERLAY,
        sipAddresses: () => sip?.addresses ?? [],
        ...(extra.persist === undefined ? {} : { marks: extra.persist.marks }),
      },
      { ...this.usageOptions, ...options },
    );
    sip = new SipPeer(
      { clock: this.clock, random: this.random, driver, resolver: new NumericOnlyResolver(), localHosts: [host], location: usage.location },
      {
        domains: [OVERLAY],
        listen: [
          { protocol: 'udp', host, port: 5060 },
          { protocol: 'tcp', host, port: 5060 },
        ],
        outbound: { mode: 'none' },
        advertisedHost: host,
      },
    );
    const peer: WorldPeer = { name, nodeId, addr, sip, usage, inner, handlers, reachable: true };
    this.peers.push(peer);
    const started = sip.start();
    await this.settle();
    await started;
    return peer;
  }

  async phone(name: string, peer: WorldPeer): Promise<TestPhone> {
    const k = ++this.phones;
    const host = `198.18.1.${k}`;
    const driver = this.network.createDriver({ hosts: [host] });
    const pending = driver.listen('udp', host, 5060);
    this.network.flush();
    const addr = await pending;
    const phone = new TestPhone(name, driver, addr, peer);
    driver.setUser({
      onDatagram: (_l, _r, data) => {
        const r = parseMessage(data, { datagram: true });
        if (r.ok) phone.inbox.push(r.message);
      },
      onConnectionOpened: () => {},
      onConnectionFailed: () => {},
      onConnectionClosed: () => {},
      onStreamData: () => {},
      onWsMessage: () => {},
    });
    return phone;
  }

  /** The fake overlay: a request to a node reaches its handler; an unreachable node never answers. */
  private async deliver(dest: Destination[], code: number, body: Uint8Array): Promise<OverlayAnswer> {
    this.overlayRequests++;
    this.overlayByCode.set(code, (this.overlayByCode.get(code) ?? 0) + 1);
    const d = dest[dest.length - 1];
    // a restarted peer has its predecessor's Node-ID: the one still reachable answers
    const same = d?.type === 'node' ? this.peers.filter((p) => Buffer.from(p.nodeId).equals(Buffer.from(d.nodeId))) : [];
    const peer = same.find((p) => p.reachable) ?? same[0];
    if (peer === undefined || !peer.reachable) return { ok: false, errorCode: 0, info: 'no answer after 3 transmission(s)', responder: undefined, hops: 0 };
    const h = peer.handlers.get(code);
    if (h === undefined) return { ok: false, errorCode: ReloadErrorCode.InvalidMessage, info: 'unsupported', responder: peer.nodeId, hops: 1 };
    const reply = await h({ code, body } as unknown as InboundRequest);
    if ('error' in reply) return { ok: false, errorCode: reply.error, info: reply.info, responder: peer.nodeId, hops: 1 };
    return { ok: true, code: reply.code, body: reply.body, responder: peer.nodeId, hops: 1, signer: undefined };
  }

  /**
   * Delivers every queued packet and lets promise continuations run, and fires the timers due now
   * (work deferred to the next turn, setTimer(0)), until nothing moves. The clock does not move.
   */
  async settle(): Promise<void> {
    await settle(this.network);
    for (let i = 0; i < 100; i++) {
      const due = this.clock.nextTimerAt();
      if (due === undefined || due > this.clock.now()) return;
      this.clock.advance(0);
      await settle(this.network);
    }
  }

  /** Advances the virtual clock in steps, settling the network after each. */
  advance(ms: number, step = 100): Promise<void> {
    return advance(this.clock, ms, step, this.network);
  }

  async stop(): Promise<void> {
    for (const p of this.peers) {
      const s = p.sip.stop();
      await this.settle();
      await s;
    }
  }
}

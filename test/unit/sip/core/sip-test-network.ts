/**
 * An in-memory SIP world for core tests: one SipPeer (registrar + proxy) and any number of
 * scripted phones, all on a MemoryNetwork with a ManualClock — deterministic, no sockets.
 */
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import { NumericOnlyResolver } from '../../../../src/sip/core/target-resolver.js';
import { createResponse, parseMessage, serializeMessage } from '../../../../src/sip/message/index.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../../src/sip/message/sip-message.js';
import { MemoryNetwork, type MemoryDriver } from '../../../support/sip/memory-driver.js';
import { advance, settle } from '../../../support/settle.js';
import type { TransportAddress } from '../../../../src/sip/transport/sip-transport.js';
import { SipPeer, type SipPeerDeps, type SipPeerOptions } from '../../../../src/node/sip-peer.js';
import type { LoadMonitor } from '../../../../src/sip/core/admission-policy.js';
import type { OutboundPolicy } from '../../../../src/sip/core/proxy-core.js';

export const PEER_HOST = '198.18.0.1';
export const PEER_PORT = 5060;

export class Phone {
  readonly inbox: SipMessage[] = [];
  private seq = 0;

  constructor(
    readonly name: string,
    readonly driver: MemoryDriver,
    readonly addr: TransportAddress,
    private readonly world: SipWorld,
  ) {}

  get contact(): string {
    return `sip:${this.name}@${this.addr.host}:${this.addr.port}`;
  }

  sendText(text: string, to: TransportAddress = this.world.peerAddr): void {
    this.driver.sendDatagram(this.addr, to, Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1'));
  }

  send(msg: SipMessage, to: TransportAddress = this.world.peerAddr): void {
    this.driver.sendDatagram(this.addr, to, serializeMessage(msg));
  }

  /** A request from this phone; `extra` lines are added verbatim. */
  request(method: string, ruri: string, opts: { callId?: string; cseq?: number; toTag?: string; extra?: string[]; body?: string; branch?: string } = {}): string {
    const n = ++this.seq;
    const body = opts.body ?? '';
    const lines = [
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.addr.host}:${this.addr.port};branch=${opts.branch ?? `z9hG4bK${this.name}${n}x${this.world.random.u32()}`};rport`,
      'Max-Forwards: 70',
      `From: <sip:${this.name}@p2psip.local>;tag=${this.name}tag`,
      `To: <${ruri}>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
      `Call-ID: ${opts.callId ?? `${this.name}-call-${n}`}`,
      `CSeq: ${opts.cseq ?? n} ${method}`,
      `Contact: <${this.contact}>`,
      ...(opts.extra ?? []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
    return lines.join('\n');
  }

  register(expires = 3600, q?: number, aor = `sip:${this.name}@p2psip.local`): void {
    const n = ++this.seq;
    this.sendText(
      [
        `REGISTER sip:p2psip.local SIP/2.0`,
        `Via: SIP/2.0/UDP ${this.addr.host}:${this.addr.port};branch=z9hG4bKreg${this.name}${n};rport`,
        'Max-Forwards: 70',
        `From: <${aor}>;tag=r${this.name}`,
        `To: <${aor}>`,
        `Call-ID: reg-${this.name}`,
        `CSeq: ${n} REGISTER`,
        `Contact: <${this.contact}>${q !== undefined ? `;q=${q}` : ''}`,
        `Expires: ${expires}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    );
  }

  /** Answers a received request (copying Via/From/To/Call-ID/CSeq) straight back to its source. */
  reply(req: SipRequest, status: number, extra: Array<[string, string]> = []): SipResponse {
    const res = createResponse(req, status, undefined, { toTag: `${this.name}-tt`, headers: [['Contact', `<${this.contact}>`], ...extra] });
    // Record-Route is copied into responses (RFC 3261 §12.1.1).
    for (const rr of req.headers.getAll('record-route')) res.headers.append('Record-Route', rr);
    this.send(res);
    return res;
  }

  requests(method?: string): SipRequest[] {
    return this.inbox.filter((m): m is SipRequest => m.kind === 'request' && (method === undefined || m.method === method));
  }

  responses(status?: number): SipResponse[] {
    return this.inbox.filter((m): m is SipResponse => m.kind === 'response' && (status === undefined || m.status === status));
  }

  last(): SipMessage | undefined {
    return this.inbox[this.inbox.length - 1];
  }
}

export class SipWorld {
  readonly clock = new ManualClock(1_000_000);
  readonly random = new SeededRandom(42);
  readonly network = new MemoryNetwork();
  readonly peerAddr: TransportAddress = { protocol: 'udp', host: PEER_HOST, port: PEER_PORT };
  readonly peer: SipPeer;
  private phoneCount = 0;

  constructor(
    load?: LoadMonitor,
    outbound: OutboundPolicy = { mode: 'none' },
    /** More of the peer's deps (e.g. its location service made on the world's clock). */
    extra: (clock: ManualClock) => Pick<SipPeerDeps, 'overlayWork' | 'location' | 'media' | 'services'> = () => ({}),
    /** More of the peer's options (e.g. `auth`). */
    peerOptions: Partial<SipPeerOptions> = {},
  ) {
    const driver = this.network.createDriver({ hosts: [PEER_HOST] });
    this.peer = new SipPeer(
      {
        clock: this.clock,
        random: this.random,
        driver,
        resolver: new NumericOnlyResolver(),
        localHosts: [PEER_HOST],
        ...(load !== undefined ? { load } : {}),
        ...extra(this.clock),
      },
      {
        domains: ['p2psip.local'],
        listen: [
          { protocol: 'udp', host: PEER_HOST, port: PEER_PORT },
          { protocol: 'tcp', host: PEER_HOST, port: PEER_PORT },
        ],
        outbound,
        advertisedHost: PEER_HOST,
        ...peerOptions,
      },
    );
  }

  async start(): Promise<void> {
    const started = this.peer.start();
    await this.settle();
    await started;
  }

  async phone(name: string): Promise<Phone> {
    const k = ++this.phoneCount;
    const host = `198.18.1.${k}`;
    const driver = this.network.createDriver({ hosts: [host] });
    const pending = driver.listen('udp', host, 5060);
    this.network.flush();
    const addr = await pending;
    const phone = new Phone(name, driver, addr, this);
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

  /** Delivers every queued packet and lets promise continuations run, until nothing moves. */
  settle(): Promise<void> {
    return settle(this.network);
  }

  /** Advances the virtual clock in steps, settling the network after each. */
  advance(ms: number, step = 100): Promise<void> {
    return advance(this.clock, ms, step, this.network);
  }

  async stop(): Promise<void> {
    const p = this.peer.stop();
    await this.settle();
    await p;
  }
}

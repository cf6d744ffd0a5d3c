/**
 * A tiny simulated IPv4 network for the ICE agent tests, on a ManualClock: public hosts, NATs
 * (RFC 4787 mapping and filtering behaviours) with private LANs behind them, and TURN-like relays
 * (the client↔server leg is abstracted away: sending through a relay installs a permission for the
 * peer's IP, RFC 8656 §9, and a peer's datagram to the relay address reaches the client only with one).
 * No hairpinning. Every datagram takes `latencyMs` (LAN: 1 ms); public legs may lose `lossRate` of them.
 */
import { StunAttr, attr, decodeStun, readErrorCode } from '../../../src/nat/stun/stun-message.js';
import type { StunAddress } from '../../../src/nat/stun/stun-message.js';
import type { ManualClock } from '../../../src/lib/manual-clock.js';
import { IceAgent } from '../../../src/nat/ice/ice-agent.js';
import type { IceAgentOptions, IceRemoteParameters } from '../../../src/nat/ice/ice-agent-options.js';
import type { LocalCandidateInput } from '../../../src/nat/ice/ice-candidate.js';
import type { IceRole } from '../../../src/nat/ice/ice-check-messages.js';
import { SeededRandom } from '../../../src/lib/random.js';

export type MappingBehaviour = 'endpoint-independent' | 'address-and-port-dependent';
export type FilteringBehaviour = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';
export interface NatBehaviour {
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
}

export const FULL_CONE: NatBehaviour = { mapping: 'endpoint-independent', filtering: 'endpoint-independent' };
export const PORT_RESTRICTED: NatBehaviour = { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' };
export const SYMMETRIC: NatBehaviour = { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' };

/** The STUN server peers learn their server-reflexive address from. */
export const STUN_SERVER: StunAddress = { host: '192.0.2.1', port: 3478 };

const k = (a: StunAddress): string => `${a.host}:${a.port}`;

interface NatMapping {
  readonly internal: StunAddress;
  readonly external: StunAddress;
  readonly allowed: Set<string>;
}

export class TestNat {
  private nextPort = 40_000;
  private readonly byKey = new Map<string, NatMapping>();
  private readonly byPort = new Map<number, NatMapping>();

  constructor(
    readonly publicIp: string,
    readonly behaviour: NatBehaviour,
  ) {}

  /** The public address `internal` is mapped to towards `dest` (created on first use); records the filter entry. */
  outbound(internal: StunAddress, dest: StunAddress): StunAddress {
    const key = this.behaviour.mapping === 'endpoint-independent' ? k(internal) : `${k(internal)}>${k(dest)}`;
    let m = this.byKey.get(key);
    if (m === undefined) {
      m = { internal, external: { host: this.publicIp, port: this.nextPort++ }, allowed: new Set() };
      this.byKey.set(key, m);
      this.byPort.set(m.external.port, m);
    }
    m.allowed.add(this.behaviour.filtering === 'address-dependent' ? dest.host : k(dest));
    return m.external;
  }

  /** The internal address a datagram from `from` to our public `port` goes to, or undefined (filtered / no mapping). */
  inbound(port: number, from: StunAddress): StunAddress | undefined {
    const m = this.byPort.get(port);
    if (m === undefined) return undefined;
    if (this.behaviour.filtering === 'endpoint-independent') return m.internal;
    return m.allowed.has(this.behaviour.filtering === 'address-dependent' ? from.host : k(from)) ? m.internal : undefined;
  }
}

export type Receiver = (datagram: Uint8Array, from: StunAddress, base: string) => void;

export interface Endpoint {
  readonly address: StunAddress;
  readonly nat: TestNat | undefined;
  receive: Receiver;
  /** Drops everything to and from it. */
  down: boolean;
}

export interface Relay {
  readonly address: StunAddress;
  readonly owner: Endpoint;
  readonly base: string;
  readonly permissions: Set<string>;
}

export class TestNetwork {
  readonly drops = new Map<string, number>();
  delivered = 0;
  private readonly publicHosts = new Map<string, Endpoint>();
  private readonly privateHosts = new Map<TestNat, Map<string, Endpoint>>();
  private readonly nats = new Map<string, TestNat>();
  private readonly relays = new Map<string, Relay>();

  /** Fraction of datagrams lost on the public legs (seeded). */
  lossRate = 0;
  private readonly loss = new SeededRandom(99);

  constructor(
    private readonly clock: ManualClock,
    private readonly latencyMs = 10,
  ) {}

  addNat(publicIp: string, behaviour: NatBehaviour): TestNat {
    const n = new TestNat(publicIp, behaviour);
    this.nats.set(publicIp, n);
    this.privateHosts.set(n, new Map());
    return n;
  }

  addHost(address: StunAddress, nat?: TestNat): Endpoint {
    const ep: Endpoint = { address, nat, receive: () => undefined, down: false };
    if (nat === undefined) this.publicHosts.set(k(address), ep);
    else this.privateHosts.get(nat)!.set(k(address), ep);
    return ep;
  }

  addRelay(address: StunAddress, owner: Endpoint, base: string): Relay {
    const r: Relay = { address, owner, base, permissions: new Set() };
    this.relays.set(k(address), r);
    return r;
  }

  /** The server-reflexive address `ep` gets from {@link STUN_SERVER} (the mapping is created as a Binding would). */
  reflexive(ep: Endpoint): StunAddress {
    return ep.nat === undefined ? ep.address : ep.nat.outbound(ep.address, STUN_SERVER);
  }

  dropped(reason?: string): number {
    if (reason !== undefined) return this.drops.get(reason) ?? 0;
    let n = 0;
    for (const v of this.drops.values()) n += v;
    return n;
  }

  /** `ep` sends `datagram` from its socket to `to`. */
  send(ep: Endpoint, datagram: Uint8Array, to: StunAddress): void {
    if (ep.down) return this.drop('down');
    if (ep.nat !== undefined) {
      const lan = this.privateHosts.get(ep.nat)!.get(k(to));
      if (lan !== undefined) return this.deliver(lan, datagram, ep.address, 'host', 1);
      const src = ep.nat.outbound(ep.address, to);
      return this.routePublic(datagram, src, to);
    }
    this.routePublic(datagram, ep.address, to);
  }

  /** The owner of `relay` sends `datagram` through it to `to` (a TURN Send indication / ChannelData). */
  sendViaRelay(relay: Relay, datagram: Uint8Array, to: StunAddress): void {
    if (relay.owner.down) return this.drop('down');
    relay.permissions.add(to.host);
    this.routePublic(datagram, relay.address, to);
  }

  private routePublic(datagram: Uint8Array, src: StunAddress, to: StunAddress): void {
    if (this.lossRate > 0 && this.loss.float() < this.lossRate) return this.drop('lost');
    const pub = this.publicHosts.get(k(to));
    if (pub !== undefined) return this.deliver(pub, datagram, src, 'host', this.latencyMs);
    const relay = this.relays.get(k(to));
    if (relay !== undefined) {
      if (!relay.permissions.has(src.host)) return this.drop('no-permission');
      return this.deliver(relay.owner, datagram, src, relay.base, this.latencyMs);
    }
    const nat = this.nats.get(to.host);
    if (nat !== undefined) {
      if (src.host === nat.publicIp) return this.drop('hairpin');
      const internal = nat.inbound(to.port, src);
      if (internal === undefined) return this.drop('filtered');
      const ep = this.privateHosts.get(nat)!.get(k(internal));
      if (ep === undefined) return this.drop('unroutable');
      return this.deliver(ep, datagram, src, 'host', this.latencyMs);
    }
    this.drop('unroutable');
  }

  private deliver(ep: Endpoint, datagram: Uint8Array, from: StunAddress, base: string, latency: number): void {
    const copy = datagram.slice();
    this.clock.setTimer(latency, () => {
      if (ep.down) return this.drop('down');
      this.delivered++;
      ep.receive(copy, from, base);
    });
  }

  private drop(reason: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }
}

/** Lets promise continuations (StunClient outcomes: check timeouts) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve();
}

/** Runs the clock `ms` forward timer by timer, letting promise continuations run in between. */
export async function run(clock: ManualClock, ms: number): Promise<void> {
  const end = clock.now() + ms;
  for (;;) {
    await flush();
    const next = clock.nextTimerAt();
    if (next === undefined || next > end) break;
    clock.advanceTo(next);
  }
  clock.advanceTo(end);
  await flush();
}

export interface PeerSpec {
  name: string;
  host: StunAddress;
  nat?: TestNat;
  role: IceRole;
  /** Gather a server-reflexive candidate (default true behind a NAT). */
  srflx?: boolean;
  /** A relayed candidate at this public address (base 'relay:1'). */
  relay?: StunAddress;
  tieBreaker?: bigint;
  seed: number;
  options?: IceAgentOptions;
}

/** An ICE agent wired to the test network as its owner would wire it to a UDP socket and a TURN client. */
export class TestPeer {
  readonly agent: IceAgent;
  readonly endpoint: Endpoint;
  readonly relay: Relay | undefined;
  readonly events: string[] = [];
  /** Datagrams the agent sent, per base. */
  readonly sent = new Map<string, number>();
  /** ERROR-CODEs of the error responses the agent sent. */
  readonly errorsSent: number[] = [];
  /** Decoded datagrams it received that the agent did not claim. */
  unclaimed = 0;
  readonly ufrag: string;
  readonly password: string;

  constructor(
    readonly net: TestNetwork,
    clock: ManualClock,
    spec: PeerSpec,
  ) {
    this.endpoint = net.addHost(spec.host, spec.nat);
    const cands: LocalCandidateInput[] = [{ type: 'host', address: spec.host, base: 'host' }];
    let mapped: StunAddress | undefined;
    if (spec.nat !== undefined && spec.srflx !== false) {
      mapped = net.reflexive(this.endpoint);
      cands.push({ type: 'srflx', address: mapped, base: 'host', related: spec.host, server: STUN_SERVER.host });
    }
    if (spec.relay !== undefined) {
      this.relay = net.addRelay(spec.relay, this.endpoint, 'relay:1');
      cands.push({ type: 'relay', address: spec.relay, base: 'relay:1', related: mapped ?? net.reflexive(this.endpoint), server: spec.relay.host });
    }
    this.ufrag = `${spec.name}ufrag`;
    this.password = `${spec.name}password0123456789ab`;
    const random = new SeededRandom(spec.seed);
    this.agent = new IceAgent(
      {
        clock,
        random,
        host: {
          send: (base, d, to) => {
            this.sent.set(base, (this.sent.get(base) ?? 0) + 1);
            const m = decodeStun(d);
            if (m.ok && m.value.cls === 'error') this.errorsSent.push(readErrorCode(attr(m.value, StunAttr.ERROR_CODE))?.code ?? 0);
            if (base === 'host') net.send(this.endpoint, d, to);
            else if (this.relay !== undefined && base === this.relay.base) net.sendViaRelay(this.relay, d, to);
            else throw new Error(`no base ${base}`);
          },
        },
      },
      { ufrag: this.ufrag, password: this.password, candidates: cands, role: spec.role, ...(spec.tieBreaker === undefined ? {} : { tieBreaker: spec.tieBreaker }) },
      spec.options,
    );
    this.endpoint.receive = (d, from, base) => {
      const m = decodeStun(d);
      if (!m.ok || !this.agent.receive(m.value, from, base)) this.unclaimed++;
    };
    this.agent.events.on('selected', (p) => this.events.push(`selected ${p.types}`));
    this.agent.events.on('failed', (f) => this.events.push(`failed ${f.code}`));
    this.agent.events.on('consent-lost', () => this.events.push('consent-lost'));
    this.agent.events.on('role-changed', (r) => this.events.push(`role ${r.role}`));
  }

  /** What this peer's Attach carries. */
  parameters(): IceRemoteParameters {
    const p = this.agent.localParameters();
    return { ufrag: p.ufrag, password: p.password, candidates: p.candidates.map((c) => ({ type: c.type, address: c.address, priority: c.priority, foundation: c.foundation, ...(c.related === undefined ? {} : { related: c.related }) })) };
  }

  totalSent(): number {
    let n = 0;
    for (const v of this.sent.values()) n += v;
    return n;
  }
}

import { ManualClock } from '../lib/manual-clock.js';
import { SeededRandom, type Random } from '../lib/random.js';
import type { LinkDriver, LinkEndpoint } from '../reload/link/link-driver.js';
import { pairLatency, sampleLatency } from './latency-model.js';
import type { NetworkCore } from './network-core.js';
import { SimHost, simHostAddress, type DatagramReceiver, type HostCounters } from './sim-host.js';
import { SimLinkDriver } from './sim-link-driver.js';
import { SimNetworkError } from './sim-network-error.js';
import { DEFAULT_SIM_NETWORK_OPTIONS, type CrashMode, type LinkConditions, type SimNetworkOptions } from './sim-network-options.js';
import type { Flow, OwnedHost } from './stream-link.js';
import { StreamTransport } from './stream-transport.js';

/** A bound datagram port (future UDP/DTLS links, SIP over UDP). */
export interface SimDatagramSocket {
  readonly local: LinkEndpoint;
  send(to: LinkEndpoint, data: Uint8Array): void;
  close(): void;
}

/** Network-wide totals. */
export interface SimNetworkStats {
  hosts: number;
  datagramsSent: number;
  datagramsDelivered: number;
  datagramsLost: number;
  duplicatesDropped: number;
}

/**
 * An in-memory IP network of simulated hosts on a virtual clock (sans-I/O: time and randomness
 * are the injected ManualClock and a seeded generator). Hosts get addresses 10.0.0.1, 10.0.0.2, …;
 * each pair has a fixed one-way latency drawn from `pairLatency`; stream links (see
 * {@link driverFor}) and datagrams ({@link sendDatagram}) follow the model of SimNetworkOptions.
 */
export class SimNetwork {
  readonly clock: ManualClock;
  readonly options: SimNetworkOptions;
  private readonly random: Random;
  private readonly hosts: OwnedHost[] = [];
  private readonly byAddress = new Map<string, OwnedHost>();
  private readonly pairConditions = new Map<string, LinkConditions>();
  private readonly transport: StreamTransport;
  private linkCounter = 0;
  private readonly totals: SimNetworkStats = { hosts: 0, datagramsSent: 0, datagramsDelivered: 0, datagramsLost: 0, duplicatesDropped: 0 };

  constructor(clock: ManualClock = new ManualClock(), options: Partial<SimNetworkOptions> = {}) {
    this.clock = clock;
    this.options = { ...DEFAULT_SIM_NETWORK_OPTIONS, ...options };
    this.random = new SeededRandom(this.options.seed);
    const o = this.options;
    const jitterOff = o.jitter.kind === 'constant' && o.jitter.ms === 0;
    const core: NetworkCore = {
      clock,
      random: this.random,
      options: o,
      stalled: new Set<Flow>(),
      hostByAddress: (a) => this.byAddress.get(a),
      conditions: (a, b) => this.conditionsOf(a, b),
      reachable: (a, b) => b.up && a.group === b.group,
      baseLatency: (a, b) => this.latencyOf(a, b),
      jitter: () => (jitterOff ? 0 : sampleLatency(o.jitter, this.random)),
      nextLinkId: () => `L${++this.linkCounter}`,
      countDuplicate: () => {
        this.totals.duplicatesDropped++;
      },
    };
    this.core = core;
    this.transport = new StreamTransport(core);
  }

  private readonly core: NetworkCore;

  /** Adds a host; returns its IP address. */
  addHost(): string {
    const h: OwnedHost = new SimHost(this.hosts.length, simHostAddress(this.hosts.length));
    this.hosts.push(h);
    this.byAddress.set(h.address, h);
    this.totals.hosts++;
    return h.address;
  }

  get hostCount(): number {
    return this.hosts.length;
  }

  /** A new link driver on `host` (several may share a host, as processes do). */
  driverFor(host: string): LinkDriver {
    return new SimLinkDriver(this.host(host), this.transport);
  }

  /** The one-way latency of a pair before jitter, loss and queueing (ms). */
  oneWayLatency(a: string, b: string): number {
    return this.latencyOf(this.host(a), this.host(b));
  }

  /** Overrides the packet conditions between `a` and `b` (both directions). */
  setPairConditions(a: string, b: string, conditions: Partial<LinkConditions>): void {
    const ha = this.host(a);
    const hb = this.host(b);
    const merged = { ...this.conditionsOf(ha, hb), ...conditions };
    this.pairConditions.set(pairKey(ha, hb), merged);
  }

  /**
   * Splits the network: hosts talk only within their group; hosts named in no group form one more
   * group together. Links across stall (and break after stallTimeoutMs); connects across time out.
   */
  partition(groups: readonly (readonly string[])[]): void {
    for (const h of this.hosts) h.group = 0;
    groups.forEach((g, i) => {
      for (const a of g) {
        const h = this.host(a);
        if (h.group !== 0) throw new SimNetworkError('EINVAL', `${a} is in two partition groups`);
        h.group = i + 1;
      }
    });
    this.transport.resumeStalled();
  }

  /** Ends every partition; stalled links resume. */
  heal(): void {
    for (const h of this.hosts) h.group = 0;
    this.transport.resumeStalled();
  }

  /**
   * Everything on `host` vanishes: its drivers report nothing more, its listeners and datagram
   * ports close, its unsent data is lost. `silent`: the host answers nothing any more (peers learn
   * by stalls and timeouts); `reset`: the remote ends of its links are reset after one one-way
   * latency and connects to it are refused. The address is never reused.
   */
  crashHost(host: string, mode: CrashMode = this.options.crashMode): void {
    const h = this.host(host);
    for (const owner of [...h.owners]) {
      owner.kill();
      this.transport.crash(owner, mode === 'reset');
    }
    h.owners.clear();
    h.listeners.clear();
    h.datagram = undefined;
    if (mode === 'silent') h.up = false;
  }

  /** Whether `host` is up (not crashed silently). */
  isUp(host: string): boolean {
    return this.host(host).up;
  }

  /** Traffic counters of `host` (a copy). */
  counters(host: string): HostCounters {
    const h = this.host(host);
    return { bytesSent: h.bytesSent, bytesReceived: h.bytesReceived, packetsSent: h.packetsSent, packetsReceived: h.packetsReceived };
  }

  /** Sum of every host's counters. */
  totalCounters(): HostCounters {
    const t: HostCounters = { bytesSent: 0, bytesReceived: 0, packetsSent: 0, packetsReceived: 0 };
    for (const h of this.hosts) {
      t.bytesSent += h.bytesSent;
      t.bytesReceived += h.bytesReceived;
      t.packetsSent += h.packetsSent;
      t.packetsReceived += h.packetsReceived;
    }
    return t;
  }

  stats(): SimNetworkStats {
    return { ...this.totals };
  }

  /** Binds a datagram port (0 = any free port) on `host`. */
  bindDatagram(host: string, port: number, receiver: DatagramReceiver): SimDatagramSocket {
    const h = this.host(host);
    h.datagram ??= new Map();
    const p = port === 0 ? h.ephemeralPort() : port;
    if (p === 0 || h.datagram.has(p)) throw new SimNetworkError('EADDRINUSE', `${host}:${port} (datagram) is in use`);
    h.datagram.set(p, receiver);
    const local = { host: h.address, port: p };
    return {
      local,
      send: (to, data) => this.sendDatagram(local, to, data),
      close: () => {
        if (h.datagram?.get(p) === receiver) h.datagram.delete(p);
      },
    };
  }

  /**
   * Sends one datagram: lost with probability `loss`, duplicated with `duplicate`, held back by up
   * to reorderDelayMs with `reorder`; dropped when oversized, unroutable, or nobody is bound.
   */
  sendDatagram(from: LinkEndpoint, to: LinkEndpoint, data: Uint8Array): void {
    const a = this.byAddress.get(from.host);
    const b = this.byAddress.get(to.host);
    if (a === undefined || !a.up) return;
    this.totals.datagramsSent++;
    a.bytesSent += data.length;
    a.packetsSent++;
    if (b === undefined || data.length > this.options.maxDatagramBytes) {
      this.totals.datagramsLost++;
      return;
    }
    const cond = this.conditionsOf(a, b);
    const copy = data.slice();
    const src = { host: a.address, port: from.port };
    const copies = cond.duplicate > 0 && this.random.float() < cond.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (cond.loss > 0 && this.random.float() < cond.loss) {
        this.totals.datagramsLost++;
        continue;
      }
      let delay = this.latencyOf(a, b) + this.core.jitter();
      if (cond.reorder > 0 && this.random.float() < cond.reorder) delay += this.random.float() * this.options.reorderDelayMs;
      this.clock.setTimer(delay, () => {
        const receiver = b.datagram?.get(to.port);
        if (receiver === undefined || !this.core.reachable(a, b)) {
          this.totals.datagramsLost++;
          return;
        }
        this.totals.datagramsDelivered++;
        b.bytesReceived += copy.length;
        b.packetsReceived++;
        receiver(copy, src);
      });
    }
  }

  private host(address: string): OwnedHost {
    const h = this.byAddress.get(address);
    if (h === undefined) throw new SimNetworkError('EADDRNOTAVAIL', `no simulated host ${address}`);
    return h;
  }

  private latencyOf(a: OwnedHost, b: OwnedHost): number {
    if (a === b) return this.options.loopbackLatencyMs;
    return pairLatency(this.options.pairLatency, this.options.seed, a.index, b.index);
  }

  private conditionsOf(a: OwnedHost, b: OwnedHost): LinkConditions {
    if (this.pairConditions.size > 0) {
      const c = this.pairConditions.get(pairKey(a, b));
      if (c !== undefined) return c;
    }
    return this.options.conditions;
  }
}

function pairKey(a: OwnedHost, b: OwnedHost): string {
  return a.index < b.index ? `${a.index}-${b.index}` : `${b.index}-${a.index}`;
}

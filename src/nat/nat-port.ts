/**
 * The peer's overlay UDP port as protocol logic (sans-I/O): one socket carries STUN (the Binding
 * server every peer runs, RFC 6940 §6.5.1.4; our own Binding/ICE/TURN transactions), ICE checks
 * (RFC 8445), TURN (server side for other peers, client side towards our relays) and DTLS-UDP-SR
 * flows, told apart by RFC 7983 demultiplexing and then by transaction ID, USERNAME ufrag or source.
 *
 * Datagrams that reach us through one of our TURN relays come in with `receiveRelayed` and are
 * demultiplexed the same way, with the relay as their "base".
 *
 * Limits (NatPortLimits, defaults in DEFAULT_NAT_PORT_LIMITS), each refused or dropped and counted:
 * - ICE sessions registered at once: 512 (`addSession` false, `sessionsRefused`);
 * - flows open at once: 1,024 (`openFlow` undefined, `flowsRefused`);
 * - unauthenticated Binding answers (the stateless server anyone may ask, an amplification and CPU
 *   vector): a token bucket per source network (an IPv4 address, an IPv6 /64), 50 answers/s with
 *   bursts of 100, over a table of at most 4,096 sources (the least recently heard forgotten first,
 *   source-rate-limiter.ts). A request past its source's rate is dropped silently, before any answer
 *   is built, and counted (`bindingRateLimited`). The default lets ~100 peers behind one NAT (or on
 *   one loopback host) probe us at once and keeps a flood's answers to 50/s per source. ICE checks
 *   (Binding with USERNAME: the ICE agent's, RFC 8445 §7.3) and TURN are not limited here.
 * A datagram nobody claims is dropped and counted by reason (`stunMalformed`, `stunUnclaimed`, …).
 */
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import { addressKey, classifyDatagram } from './datagram-socket.js';
import type { DatagramSocket, UdpAddress } from './datagram-socket.js';
import { SourceRateLimiter } from './source-rate-limiter.js';
import { answerBinding } from './stun/binding-server.js';
import { StunClient } from './stun/stun-client.js';
import { StunAttr, StunMethod, attr, decodeStun, readAddress, readText, readXorAddress, u32Attr } from './stun/stun-message.js';
import type { DecodedStun, StunAttribute } from './stun/stun-message.js';
import type { StunRequestOptions } from './stun/stun-client.js';

/** The socket a datagram went through: our UDP port ('host'), or one of our TURN relays (its id). */
export type Base = string;
export const HOST_BASE: Base = 'host';

/** Something that consumes STUN messages addressed to an ICE session (by local ufrag). */
export interface StunSession {
  /** A STUN message for this session (request with our ufrag, or a response to one of its transactions). True when consumed. */
  receive(msg: DecodedStun, from: UdpAddress, base: Base): boolean;
  /** True when `tid` is a transaction of this session in flight. */
  ownsTransaction(tid: Uint8Array): boolean;
}

/** The TURN server side (allocations for other peers), when this peer offers TURN. */
export interface TurnServerSide {
  /** A TURN request/indication or ChannelData from a client; true when consumed. */
  receiveFromClient(datagram: Uint8Array, msg: DecodedStun | undefined, from: UdpAddress): boolean;
}

/** A TURN client of ours (an allocation at `server`). */
export interface TurnClientSide {
  readonly server: UdpAddress;
  /** A datagram from the server (response, Data indication, ChannelData); true when consumed. */
  receiveFromServer(datagram: Uint8Array, msg: DecodedStun | undefined): boolean;
}

/** A DTLS (or other non-STUN) flow with one remote address through one base. */
export interface Flow {
  send(datagram: Uint8Array): void;
  close(): void;
}

/** What a Binding success response tells (RFC 8489 XOR-MAPPED-ADDRESS, RFC 5780 OTHER-ADDRESS and RESPONSE-ORIGIN). */
export interface BindingAnswer {
  mapped: UdpAddress;
  otherAddress?: UdpAddress;
  responseOrigin?: UdpAddress;
  rttMs?: number;
}

export interface NatPortLimits {
  /** ICE sessions at once (default 512). */
  maxSessions: number;
  /** Flows at once (default 1,024). */
  maxFlows: number;
  /** Unauthenticated Binding answers per second per source network (default 50; Infinity: no limit). */
  bindingRatePerS: number;
  /** … in a burst, after a quiet period (default 100). */
  bindingBurst: number;
  /** Source networks whose Binding rate is tracked at once (default 4,096; least recently heard forgotten first). */
  bindingSources: number;
}

export const DEFAULT_NAT_PORT_LIMITS: Readonly<NatPortLimits> = Object.freeze({ maxSessions: 512, maxFlows: 1024, bindingRatePerS: 50, bindingBurst: 100, bindingSources: 4096 });

export interface NatPortDeps {
  socket: DatagramSocket;
  clock: Clock;
  random: Random;
}

export interface NatPortOptions {
  software?: string;
  /** A second socket on another port for RFC 5780 CHANGE-REQUEST (change port). */
  alternate?: DatagramSocket;
  limits?: Partial<NatPortLimits>;
}

export interface NatPortCounters {
  bindingAnswered: number;
  /** Unauthenticated Binding requests dropped unanswered: their source was over `bindingRatePerS`. */
  bindingRateLimited: number;
  stunMalformed: number;
  stunUnclaimed: number;
  dtlsUnclaimed: number;
  channelDataUnclaimed: number;
  otherDropped: number;
  sessionsRefused: number;
  flowsRefused: number;
}

interface FlowEntry {
  onDatagram(d: Uint8Array): void;
}

export class NatPort {
  /** Our own STUN transactions from the host base (Binding to other peers: server-reflexive discovery). */
  readonly stun: StunClient;
  private readonly sessions = new Map<string, StunSession>();
  private readonly flows = new Map<string, FlowEntry>();
  private readonly turnClients = new Map<string, TurnClientSide>();
  private turnServer: TurnServerSide | undefined;
  private readonly relaySenders = new Map<Base, (datagram: Uint8Array, to: UdpAddress) => boolean>();
  private readonly limits: NatPortLimits;
  private readonly bindingLimiter: SourceRateLimiter;
  private readonly counts: NatPortCounters = {
    bindingAnswered: 0,
    bindingRateLimited: 0,
    stunMalformed: 0,
    stunUnclaimed: 0,
    dtlsUnclaimed: 0,
    channelDataUnclaimed: 0,
    otherDropped: 0,
    sessionsRefused: 0,
    flowsRefused: 0,
  };

  private alternate: DatagramSocket | undefined;

  constructor(
    private readonly deps: NatPortDeps,
    private readonly opts: NatPortOptions = {},
  ) {
    this.alternate = opts.alternate;
    this.limits = { ...DEFAULT_NAT_PORT_LIMITS, ...opts.limits };
    for (const k of ['maxSessions', 'maxFlows'] as const) {
      const v = this.limits[k];
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`NatPort limit ${k} must be an integer >= 0 (got ${v})`);
    }
    this.bindingLimiter = new SourceRateLimiter({ ratePerS: this.limits.bindingRatePerS, burst: this.limits.bindingBurst, maxSources: this.limits.bindingSources });
    this.stun = new StunClient({ clock: deps.clock, random: deps.random, send: (d, to) => deps.socket.send(d, to) });
  }

  get local(): UdpAddress {
    return this.deps.socket.local;
  }

  /** Sends from a base: the host socket, or a relay. */
  send(base: Base, datagram: Uint8Array, to: UdpAddress): boolean {
    if (base === HOST_BASE) {
      this.deps.socket.send(datagram, to);
      return true;
    }
    const r = this.relaySenders.get(base);
    return r !== undefined && r(datagram, to);
  }

  /** Registers how to send from the relay `base` (a TURN allocation of ours); undefined removes it. */
  setRelaySender(base: Base, sender: ((datagram: Uint8Array, to: UdpAddress) => boolean) | undefined): void {
    if (sender === undefined) this.relaySenders.delete(base);
    else this.relaySenders.set(base, sender);
  }

  /** A datagram received on the host socket (`alternate`: on the RFC 5780 alternate socket). */
  receive(datagram: Uint8Array, from: UdpAddress, alternate = false): void {
    const kind = classifyDatagram(datagram);
    if (kind === 'stun') {
      this.decodeAndReceiveStun(datagram, from, HOST_BASE, alternate);
      return;
    }
    if (kind === 'channel-data') {
      const tc = this.turnClients.get(addressKey(from));
      if (tc !== undefined && tc.receiveFromServer(datagram, undefined)) return;
      if (this.turnServer !== undefined && this.turnServer.receiveFromClient(datagram, undefined, from)) return;
      this.counts.channelDataUnclaimed++;
      return;
    }
    this.toFlow(kind, datagram, from, HOST_BASE);
  }

  /** A datagram a peer sent to one of our relays, delivered by that relay's TURN client. */
  receiveRelayed(base: Base, datagram: Uint8Array, from: UdpAddress): void {
    const kind = classifyDatagram(datagram);
    if (kind === 'stun') this.decodeAndReceiveStun(datagram, from, base, false);
    else this.toFlow(kind, datagram, from, base);
  }

  /** Registers an ICE session under its local ufrag; false when the limit is reached or the ufrag is taken. */
  addSession(localUfrag: string, s: StunSession): boolean {
    if (this.sessions.size >= this.limits.maxSessions || this.sessions.has(localUfrag)) {
      this.counts.sessionsRefused++;
      return false;
    }
    this.sessions.set(localUfrag, s);
    return true;
  }

  removeSession(localUfrag: string, s?: StunSession): void {
    if (s === undefined || this.sessions.get(localUfrag) === s) this.sessions.delete(localUfrag);
  }

  /** Opens a flow with `remote` through `base`; undefined when one exists or the limit is reached. */
  openFlow(base: Base, remote: UdpAddress, onDatagram: (d: Uint8Array) => void): Flow | undefined {
    const key = flowKey(base, remote);
    if (this.flows.has(key) || this.flows.size >= this.limits.maxFlows) {
      this.counts.flowsRefused++;
      return undefined;
    }
    const entry: FlowEntry = { onDatagram };
    this.flows.set(key, entry);
    return {
      send: (d) => void this.send(base, d, remote),
      close: () => {
        if (this.flows.get(key) === entry) this.flows.delete(key);
      },
    };
  }

  hasFlow(base: Base, remote: UdpAddress): boolean {
    return this.flows.has(flowKey(base, remote));
  }

  setTurnServer(s: TurnServerSide | undefined): void {
    this.turnServer = s;
  }

  addTurnClient(c: TurnClientSide): void {
    this.turnClients.set(addressKey(c.server), c);
  }

  removeTurnClient(c: TurnClientSide): void {
    const k = addressKey(c.server);
    if (this.turnClients.get(k) === c) this.turnClients.delete(k);
  }

  /**
   * Our server-reflexive address as `server` (another peer, or a configured STUN server) sees it:
   * one Binding transaction (RFC 8489 schedule shortened to `rtoMs`·(1+2+4) + wait). Undefined on timeout.
   */
  async reflexiveAddress(server: UdpAddress, rtoMs = 250, transmissions = 4): Promise<BindingAnswer | undefined> {
    return this.binding(server, [], { rtoMs, maxTransmissions: transmissions, lastWaitFactor: 4, fingerprint: true });
  }

  /**
   * The socket that answers RFC 5780 CHANGE-REQUEST "change port" (another port of ours on the same
   * address); without one such requests get 420.
   */
  setAlternate(socket: DatagramSocket | undefined): void {
    this.alternate = socket;
  }

  /**
   * An RFC 5780 probe (nat-behaviour.ts's NatProbe): one Binding request to `server`, with
   * CHANGE-REQUEST change-port when asked (then the answer is taken from any source: the server's
   * alternate port), resolving with the mapped address, OTHER-ADDRESS and RESPONSE-ORIGIN, or undefined.
   */
  probe(server: UdpAddress, opts: { changePort: boolean; timeoutMs: number }): Promise<BindingAnswer | undefined> {
    const rtoMs = Math.max(50, Math.floor(opts.timeoutMs / 8));
    const attrs = opts.changePort ? [u32Attr(StunAttr.CHANGE_REQUEST, 0x2)] : [];
    return this.binding(server, attrs, { rtoMs, maxTransmissions: 3, lastWaitFactor: 1, fingerprint: true, anySource: opts.changePort });
  }

  /** One Binding transaction from the host socket; the success response's addresses, or undefined. */
  private async binding(server: UdpAddress, attrs: StunAttribute[], opts: StunRequestOptions): Promise<BindingAnswer | undefined> {
    const o = await this.stun.request(StunMethod.Binding, attrs, server, opts).outcome;
    if (o.kind !== 'response' || o.response.cls !== 'success') return undefined;
    const r = o.response;
    const mapped = readXorAddress(attr(r, StunAttr.XOR_MAPPED_ADDRESS), r.transactionId) ?? readAddress(attr(r, StunAttr.MAPPED_ADDRESS));
    if (mapped === undefined) return undefined;
    const otherAddress = readAddress(attr(r, StunAttr.OTHER_ADDRESS));
    const responseOrigin = readAddress(attr(r, StunAttr.RESPONSE_ORIGIN)) ?? o.from;
    return { mapped, responseOrigin, ...(otherAddress === undefined ? {} : { otherAddress }), ...(o.rttMs === undefined ? {} : { rttMs: o.rttMs }) };
  }


  /** The counters, and what is held now: sessions, flows, TURN clients, Binding sources tracked. */
  counters(): NatPortCounters & { sessions: number; flows: number; turnClients: number; bindingSources: number } {
    return { ...this.counts, sessions: this.sessions.size, flows: this.flows.size, turnClients: this.turnClients.size, bindingSources: this.bindingLimiter.size };
  }

  /** Cancels our transactions; sessions and flows are their owners' to close. */
  stop(): void {
    this.stun.stop();
  }

  private decodeAndReceiveStun(datagram: Uint8Array, from: UdpAddress, base: Base, alternate: boolean): void {
    const d = decodeStun(datagram);
    if (!d.ok) {
      this.counts.stunMalformed++;
      return;
    }
    this.receiveStun(d.value, datagram, from, base, alternate);
  }

  private receiveStun(msg: DecodedStun, datagram: Uint8Array, from: UdpAddress, base: Base, alternate: boolean): void {
    if (msg.cls === 'success' || msg.cls === 'error') {
      if (base === HOST_BASE && this.stun.receive(msg, from)) return;
      for (const s of this.sessions.values()) if (s.ownsTransaction(msg.transactionId) && s.receive(msg, from, base)) return;
      if (base === HOST_BASE) {
        const tc = this.turnClients.get(addressKey(from));
        if (tc !== undefined && tc.receiveFromServer(datagram, msg)) return;
      }
      this.counts.stunUnclaimed++;
      return;
    }
    if (msg.method === StunMethod.Binding) {
      const user = readText(attr(msg, StunAttr.USERNAME));
      if (user !== undefined) {
        const colon = user.indexOf(':');
        const s = this.sessions.get(colon < 0 ? user : user.slice(0, colon));
        if (s !== undefined && s.receive(msg, from, base)) return;
        this.counts.stunUnclaimed++;
        return;
      }
      if (msg.cls === 'indication') return; // keepalive (RFC 8445 §11), nothing to answer
      if (attr(msg, StunAttr.MESSAGE_INTEGRITY) !== undefined) {
        this.counts.stunUnclaimed++; // integrity without USERNAME: no session's, and not the plain server's
        return;
      }
      if (!this.bindingLimiter.take(from.host, this.deps.clock.now())) {
        this.counts.bindingRateLimited++;
        return;
      }
      const local = alternate && this.alternate !== undefined ? this.alternate.local : this.deps.socket.local;
      const reply = answerBinding(msg, from, local, {
        ...(this.opts.software === undefined ? {} : { software: this.opts.software }),
        ...(this.alternate === undefined ? {} : { alternate: this.alternate.local }),
      });
      if (reply === undefined) {
        this.counts.stunUnclaimed++;
        return;
      }
      this.counts.bindingAnswered++;
      if (base !== HOST_BASE) this.send(base, reply.datagram, from);
      else if (reply.from === 'alternate' && this.alternate !== undefined) this.alternate.send(reply.datagram, from);
      else this.deps.socket.send(reply.datagram, from);
      return;
    }
    if (base === HOST_BASE) {
      const tc = this.turnClients.get(addressKey(from));
      if (tc !== undefined && tc.receiveFromServer(datagram, msg)) return;
      if (this.turnServer !== undefined && this.turnServer.receiveFromClient(datagram, msg, from)) return;
    }
    this.counts.stunUnclaimed++;
  }

  private toFlow(kind: string, datagram: Uint8Array, from: UdpAddress, base: Base): void {
    const f = this.flows.get(flowKey(base, from));
    if (f !== undefined) {
      f.onDatagram(datagram);
      return;
    }
    if (kind === 'dtls') this.counts.dtlsUnclaimed++;
    else this.counts.otherDropped++;
  }
}

function flowKey(base: Base, remote: UdpAddress): string {
  return `${base}|${addressKey(remote)}`;
}

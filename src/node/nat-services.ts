/**
 * The TURN side of a peer (issue 12, RFC 6940 §9), composed on its overlay UDP port:
 * - `offerTurn`: a publicly reachable peer runs a TURN server on that port (relay ports on its
 *   address), hands out per-peer credentials through AppAttach(3478) (usages/turn/turn-app-attach.ts)
 *   and, once joined, advertises itself under TURN-SERVICE with the configured turn-density. The same
 *   server takes TURN clients over TCP (RFC 8656 §3.1) on the overlay's TLS port, whose listener hands
 *   over the connections that start with a STUN byte (platform/tls-link-driver.ts, nat/turn/turn-stream-server.ts).
 * - `firstRelays`: the relays a peer behind a NAT takes before its Join: at the operator's TURN server
 *   (`--turn-server`) first, then at its bootstrap peers.
 * - `allocateRelay`: a peer behind a NAT asks a TURN peer for credentials and allocates a relay there;
 *   the relayed address becomes an ICE candidate (base `relay:<n>`) and the allocation's mapped
 *   address a server-reflexive one. With `transport: 'tcp'` (a peer whose UDP is blocked) the client
 *   talks to the TURN peer over a TCP connection to the same address (nat/turn/turn-tcp-client.ts); the
 *   relay is still UDP, and the mapped address (a TCP one) is no candidate.
 */
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { CandidateGatherer } from '../nat/candidate-gatherer.js';
import type { UdpAddress } from '../nat/datagram-socket.js';
import type { NatPort } from '../nat/nat-port.js';
import type { Socket } from 'node:net';
import { TurnClient } from '../nat/turn/turn-client.js';
import { TurnServer } from '../nat/turn/turn-server.js';
import { TurnStreamServer } from '../nat/turn/turn-stream-server.js';
import type { TurnStreamLimits } from '../nat/turn/turn-stream-server.js';
import { TurnTcpClient } from '../nat/turn/turn-tcp-client.js';
import { TurnTcpSocket } from '../platform/turn-tcp-socket.js';
import { TurnRelayKeeper } from '../nat/turn/turn-relay-keeper.js';
import type { Destination } from '../reload/codec/index.js';
import type { OverlayAnswer, RequestHandler } from '../reload/overlay/overlay-types.js';
import { NodeRelayPorts } from '../platform/turn-relay-ports.js';
import { TurnCredentialBook, TURN_APPLICATION_ID, requestTurnGrant, turnAppAttachHandler } from '../usages/turn/turn-app-attach.js';
import type { TurnGrant } from '../usages/turn/turn-app-attach.js';
import { firstKey, staticTurnUsers } from '../nat/turn/turn-credentials.js';

/** The overlay's TLS listener as a source of TCP connections that start with STUN (TlsLinkDriver). */
export interface StunStreamListener {
  setStunStreamHandler(handler: ((socket: Socket) => void) | undefined): void;
}

/** Bandwidth limits of the relay a public peer offers, bytes per second, each direction. */
export interface TurnBandwidth {
  perAllocationBytesPerS?: number;
  totalBytesPerS?: number;
}

export interface TurnOffer {
  readonly server: TurnServer;
  /** TURN clients over TCP, when the offer has a stream listener. */
  readonly streams: TurnStreamServer | undefined;
  readonly book: TurnCredentialBook;
  readonly address: UdpAddress;
  stats(): object;
  stop(): Promise<void>;
}

export function offerTurn(o: {
  nat: NatPort;
  clock: Clock;
  random: Random;
  /** Our public address (the overlay UDP port as others reach it). */
  address: UdpAddress;
  realm: string;
  handleApplication(application: number, handler: RequestHandler): void;
  /** Operator-configured users (username → password) accepted besides the overlay's members. */
  staticUsers?: Record<string, string>;
  /** Where TURN clients over TCP come from (the overlay's TLS listener, same port as `address`). */
  streams?: StunStreamListener;
  streamLimits?: Partial<TurnStreamLimits>;
  /** Relay bandwidth, bytes/s each direction: per allocation (`--turn-bandwidth`) and in all (`--turn-total-bandwidth`); TurnServer's defaults otherwise. */
  bandwidth?: TurnBandwidth;
}): TurnOffer {
  const book = new TurnCredentialBook(o.clock, o.random, o.realm);
  let serverRef: TurnServer | undefined;
  let streamsRef: TurnStreamServer | undefined;
  const relayPorts = new NodeRelayPorts({ host: o.address.host }, (portId, d, from) => serverRef?.relayReceived(portId, d, from));
  const server = new TurnServer(
    {
      clock: o.clock,
      random: o.random,
      host: { sendToClient: (d, to) => (to.transport === 'tcp' ? void streamsRef?.sendToClient(d, to) : o.nat.send('host', d, to)) },
      relayPorts,
      lookupKey: o.staticUsers === undefined ? book.lookupKey : firstKey(staticTurnUsers(o.realm, o.staticUsers), book.lookupKey),
    },
    {
      realm: o.realm,
      software: 'p2psip',
      serverAddresses: [o.address],
      ...(o.bandwidth?.perAllocationBytesPerS === undefined ? {} : { bandwidthBytesPerS: o.bandwidth.perAllocationBytesPerS }),
      ...(o.bandwidth?.totalBytesPerS === undefined ? {} : { totalBandwidthBytesPerS: o.bandwidth.totalBytesPerS }),
    },
  );
  serverRef = server;
  o.nat.setTurnServer({ receiveFromClient: (d, msg, from) => (msg === undefined ? server.receiveChannelData(d, from) : server.handleStun(msg, from)) });
  const streams = o.streams === undefined ? undefined : new TurnStreamServer({ clock: o.clock, server }, o.streamLimits);
  streamsRef = streams;
  if (streams !== undefined) {
    o.streams?.setStunStreamHandler((socket) => {
      const s = new TurnTcpSocket(socket);
      const session = streams.accept(s.remote, s);
      if (session === undefined) {
        s.destroy();
        return;
      }
      s.attach({ onData: (b) => session.receive(b), onClose: () => session.closed() });
    });
  }
  o.handleApplication(TURN_APPLICATION_ID, turnAppAttachHandler(book, () => o.address));
  return {
    server,
    streams,
    book,
    address: o.address,
    stats: () => ({
      address: `${o.address.host}:${o.address.port}`,
      transports: streams === undefined ? ['udp'] : ['udp', 'tcp'],
      credentials: { issued: book.issued, refused: book.refused, live: book.size },
      bandwidth: server.bandwidth,
      ...server.stats(),
      tcp: streams?.stats() ?? null,
      clients: server.allocations().map((a) => ({ client: `${a.client.host}:${a.client.port}`, transport: a.transport, relayed: `${a.relayed.host}:${a.relayed.port}`, expiresInS: a.expiresInS, toPeerPackets: a.toPeerPackets, toClientPackets: a.toClientPackets })).slice(0, 32),
    }),
    async stop() {
      o.nat.setTurnServer(undefined);
      o.streams?.setStunStreamHandler(undefined);
      streams?.closeAll();
      await server.stop();
      await relayPorts.closeAll();
    },
  };
}

export interface RelayAllocation {
  readonly client: TurnClient;
  readonly base: string;
  /** How we reach the TURN server: 'udp' on our port, or 'tcp' (UDP blocked, RFC 8656 §3.1). */
  readonly transport: 'udp' | 'tcp';
  readonly server: UdpAddress;
  /** For /api/status. */
  stats(): object;
  /** Told when the allocation is lost (failed refresh, the TCP connection closed); not after stop(). */
  onLost(fn: (reason: string) => void): void;
  stop(): Promise<void>;
}

let relaySeq = 0;

/**
 * An allocation at a TURN server: a peer of the overlay (`from`: credentials asked for with
 * AppAttach 3478) or an operator's server (`grant`: configured credentials, e.g. coturn). Resolves
 * once allocated (the candidate is in `gatherer`) or undefined (refused, no answer within `timeoutMs`;
 * `why` is told the reason). `transport: 'tcp'`: over a TCP connection to the server's address.
 */
export async function allocateRelay(o: {
  nat: NatPort;
  gatherer: CandidateGatherer;
  clock: Clock;
  random: Random;
  from?: { request(dest: Destination[], code: number, body: Uint8Array): Promise<OverlayAnswer>; dest: Destination[] };
  grant?: TurnGrant;
  timeoutMs?: number;
  transport?: 'udp' | 'tcp';
  why?: (reason: string) => void;
}): Promise<RelayAllocation | undefined> {
  const grant = o.grant ?? (o.from === undefined ? undefined : await requestTurnGrant(o.from.request, o.from.dest, o.random));
  if (grant === undefined) {
    o.why?.('no TURN credentials (the peer asked offers no TURN, or refused)');
    return undefined;
  }
  const transport = o.transport ?? 'udp';
  const base = `relay:${++relaySeq}`;
  const timeoutMs = o.timeoutMs ?? 5_000;
  const options = { server: grant.server, username: grant.username, password: grant.password, software: 'p2psip' };
  let client: TurnClient;
  let tcp: TurnTcpClient | undefined;
  let side: { server: UdpAddress; receiveFromServer(d: Uint8Array, msg: Parameters<TurnClient['receiveIndication']>[0] | undefined): boolean } | undefined;
  if (transport === 'tcp') {
    const socket = await TurnTcpSocket.connect(grant.server, { timeoutMs });
    if (socket instanceof Error) {
      o.why?.(`TCP to the TURN server ${grant.server.host}:${grant.server.port}: ${socket.message}`);
      return undefined;
    }
    const t = new TurnTcpClient({ clock: o.clock, random: o.random, stream: socket }, options);
    socket.attach({ onData: (b) => t.receive(b), onClose: (reason) => t.closed(reason) });
    tcp = t;
    client = t.client;
  } else {
    const c = new TurnClient({ clock: o.clock, random: o.random, stun: o.nat.stun, send: (d, to) => void o.nat.send('host', d, to) }, options);
    side = { server: grant.server, receiveFromServer: (d, msg) => (msg === undefined ? c.receive(d, grant.server) : c.receiveIndication(msg, grant.server)) };
    o.nat.addTurnClient(side);
    client = c;
  }
  o.nat.setRelaySender(base, (d, to) => client.send(to, d) !== 'dropped');
  client.events.on('data', (e) => o.nat.receiveRelayed(base, e.data, e.peer));
  let failure = 'no answer';
  const allocated = await new Promise<boolean>((resolve) => {
    let settled = false;
    const timer = o.clock.setTimer(timeoutMs, () => {
      settled = true;
      resolve(false);
    });
    client.events.on('allocated', (a) => {
      if (settled) return; // too late: given up (stopped) already, no candidate
      settled = true;
      timer.cancel();
      o.gatherer.addRelay({ base, relayed: a.relayed, mapped: a.mapped ?? a.relayed, server: grant.server });
      // over TCP the mapped address is the TCP connection's: no UDP candidate
      if (a.mapped !== undefined && transport === 'udp') o.gatherer.learnReflexive(a.mapped, grant.server, o.clock.now());
      resolve(true);
    });
    client.events.on('failed', (e) => {
      if (settled) return;
      settled = true;
      failure = e.reason;
      timer.cancel();
      resolve(false);
    });
    client.start();
  });
  let stopped = false;
  const lost: Array<(reason: string) => void> = [];
  const stop = async (): Promise<void> => {
    o.gatherer.removeRelay(base);
    o.nat.setRelaySender(base, undefined);
    if (side !== undefined) o.nat.removeTurnClient(side);
    if (tcp !== undefined) await tcp.stop().catch(() => undefined);
    else await client.stop().catch(() => false);
  };
  if (!allocated) {
    o.why?.(`Allocate at ${grant.server.host}:${grant.server.port} over ${transport}: ${failure}`);
    // not awaited: the client lets an Allocate still in flight finish (its transaction is bounded, 39.5 s)
    // so that an allocation it makes late is deleted — the caller (a peer's start) must not wait for that
    void stop();
    return undefined;
  }
  client.events.on('failed', (e) => {
    if (stopped) return;
    void stop();
    for (const fn of lost) fn(e.reason);
  });
  return {
    client,
    base,
    transport,
    server: grant.server,
    stats: () => ({
      base,
      transport,
      server: `${grant.server.host}:${grant.server.port}`,
      relayed: client.relayedAddress === undefined ? null : `${client.relayedAddress.host}:${client.relayedAddress.port}`,
      state: client.state,
      ...client.stats(),
      ...(tcp === undefined ? {} : { tcp: tcp.stats() }),
    }),
    onLost: (fn) => void lost.push(fn),
    stop: async () => {
      stopped = true;
      await stop();
    },
  };
}

/**
 * For a peer whose UDP is blocked (issue 12): a keeper of one TURN relay on `nat`, allocated over TCP at
 * a TURN peer — each bootstrap peer (at most 3) in turn, then the peers `turnPeers()` names (TURN-SERVICE
 * records, once joined) — and allocated again after a loss (turn-relay-keeper.ts).
 */
export function tcpRelayKeeper(o: {
  nat: NatPort;
  gatherer: CandidateGatherer;
  clock: Clock;
  random: Random;
  request(dest: Destination[], code: number, body: Uint8Array): Promise<OverlayAnswer>;
  bootstrap: readonly UdpAddress[];
  /** A link to a bootstrap peer: its Node-ID, or undefined when it cannot be reached. */
  connectBootstrap(b: UdpAddress): Promise<Uint8Array | undefined>;
  /** More TURN peers to try (TURN-SERVICE), by Node-ID. */
  turnPeers(): Promise<Uint8Array[]>;
  /** An operator's TURN server (`--turn-server`): tried first, over TCP to its address. */
  operator?: TurnGrant;
}): TurnRelayKeeper<RelayAllocation> {
  return new TurnRelayKeeper<RelayAllocation>(o.clock, async (fail) => {
    const at = (nodeId: Uint8Array): Promise<RelayAllocation | undefined> =>
      allocateRelay({ nat: o.nat, gatherer: o.gatherer, clock: o.clock, random: o.random, transport: 'tcp', why: fail, from: { request: o.request, dest: [{ type: 'node', nodeId }] } });
    if (o.operator !== undefined) {
      const r = await allocateRelay({ nat: o.nat, gatherer: o.gatherer, clock: o.clock, random: o.random, transport: 'tcp', why: fail, grant: o.operator });
      if (r !== undefined) return r;
    }
    for (const b of o.bootstrap.slice(0, 3)) {
      const id = await o.connectBootstrap(b);
      if (id === undefined) {
        fail(`bootstrap peer ${b.host}:${b.port} not reachable`);
        continue;
      }
      const r = await at(id);
      if (r !== undefined) return r;
    }
    for (const id of await o.turnPeers()) {
      const r = await at(id);
      if (r !== undefined) return r;
    }
    return undefined;
  });
}

/** A TURN peer of the overlay to ask for credentials (AppAttach 3478) through `request`. */
export interface OverlayTurnSource {
  request(dest: Destination[], code: number, body: Uint8Array): Promise<OverlayAnswer>;
  dest: Destination[];
}

/** What firstRelays found: a relay per port (or none), and why the operator's server gave none. */
export interface FirstRelays {
  relays: Array<RelayAllocation | undefined>;
  /** Why the operator's TURN server gave a port no relay (undefined: it gave all, or none is configured). */
  operatorProblem: string | undefined;
}

/**
 * Issue 12: one relay for each of `ports` (the overlay port, the SIP channels' port) before the Join.
 * An operator's TURN server (`operator`, `--turn-server`) comes first, for all ports at once; then, for
 * the ports still without one, the overlay's TURN peers `sources()` yields, in order (the bootstrap
 * peers, connected only when needed). Bounded by allocateRelay's timeout per attempt.
 */
export async function firstRelays(o: {
  clock: Clock;
  random: Random;
  ports: ReadonlyArray<{ nat: NatPort; gatherer: CandidateGatherer }>;
  operator?: TurnGrant;
  sources(): AsyncIterable<OverlayTurnSource>;
  /** Per Allocate (allocateRelay's default, 5 s, when absent). */
  timeoutMs?: number;
}): Promise<FirstRelays> {
  const t = o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs };
  const relays: Array<RelayAllocation | undefined> = o.ports.map(() => undefined);
  let operatorProblem: string | undefined;
  const grant = o.operator;
  if (grant !== undefined) {
    const got = await Promise.all(o.ports.map((p) => allocateRelay({ ...p, ...t, clock: o.clock, random: o.random, grant, why: (r) => void (operatorProblem ??= r) })));
    got.forEach((r, i) => (relays[i] = r));
  }
  if (relays.every((r) => r !== undefined)) return { relays, operatorProblem };
  for await (const from of o.sources()) {
    for (let i = 0; i < o.ports.length; i++) {
      if (relays[i] !== undefined) continue;
      relays[i] = await allocateRelay({ ...o.ports[i]!, ...t, clock: o.clock, random: o.random, from });
      // a TURN peer that gives the first port nothing gives the next nothing either
      if (relays[i] === undefined) break;
    }
    if (relays.every((r) => r !== undefined)) break;
  }
  return { relays, operatorProblem };
}

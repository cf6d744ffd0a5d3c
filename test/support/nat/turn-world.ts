/**
 * An in-memory world for the TURN unit tests: a TURN server core with fake relay ports, a client on
 * its own "shared socket" (a StunClient and a TurnClient demultiplexed as the owner will), and a peer,
 * joined by a queue-based network on a ManualClock. Nothing touches a socket or real time.
 */
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { StunClient } from '../../../src/nat/stun/stun-client.js';
import { decodeStun, isStunPacket } from '../../../src/nat/stun/stun-message.js';
import type { StunAddress } from '../../../src/nat/stun/stun-message.js';
import { TurnClient } from '../../../src/nat/turn/turn-client.js';
import type { TurnClientOptions } from '../../../src/nat/turn/turn-client.js';
import { staticTurnUsers } from '../../../src/nat/turn/turn-credentials.js';
import { TurnServer } from '../../../src/nat/turn/turn-server.js';
import type { RelayPort, RelayPortRequest, RelayPorts, TurnServerOptions } from '../../../src/nat/turn/turn-server.js';
import { sameIp } from '../../../src/lib/ip.js';
import type { FlushableNetwork } from '../settle.js';

export const SERVER: StunAddress = { host: '192.0.2.1', port: 3478 };
export const CLIENT: StunAddress = { host: '198.51.100.7', port: 40000 };
export const PEER: StunAddress = { host: '203.0.113.5', port: 6000 };
export const REALM = 'example.org';
export const USERS = { alice: 'alice-pw', bob: 'bob-pw' } as const;

/** A queue of deliveries; `flush()` runs them (and whatever they queue) in order. */
export class MemoryNet implements FlushableNetwork {
  private queue: Array<() => void> = [];
  /** When false, everything sent is lost. */
  up = true;

  push(fn: () => void): void {
    if (this.up) this.queue.push(fn);
  }

  get pending(): number {
    return this.queue.length;
  }

  flush(): number {
    let n = 0;
    while (this.queue.length > 0 && n < 100_000) {
      const fn = this.queue.shift()!;
      fn();
      n++;
    }
    return n;
  }
}

export class FakeRelayPort implements RelayPort {
  closed = false;
  readonly sent: Array<{ data: Uint8Array; to: StunAddress }> = [];
  constructor(
    readonly id: number,
    readonly address: StunAddress,
    private readonly onSend: (port: FakeRelayPort, data: Uint8Array, to: StunAddress) => void,
  ) {}

  send(data: Uint8Array, to: StunAddress): void {
    if (this.closed) throw new Error(`send on closed relay port ${this.id}`);
    this.sent.push({ data: Uint8Array.from(data), to });
    this.onSend(this, data, to);
  }

  close(): void {
    this.closed = true;
  }
}

/** Relay ports that open at once (or when `hold` is set, when released), on `host` (192.0.2.1) from port 50000. */
export class FakeRelayPorts implements RelayPorts {
  readonly families: readonly (4 | 6)[];

  constructor(private readonly host: string = SERVER.host) {
    this.families = [host.includes(':') ? 6 : 4];
  }

  readonly ports: FakeRelayPort[] = [];
  readonly requests: RelayPortRequest[] = [];
  /** Make the next opens fail. */
  failing = false;
  /** Hold opens until `release()`. */
  hold = false;
  private held: Array<() => void> = [];
  private nextPort = 50000;
  onSend: (port: FakeRelayPort, data: Uint8Array, to: StunAddress) => void = () => undefined;

  open(req: RelayPortRequest): Promise<RelayPort | Error> {
    this.requests.push(req);
    if (this.failing) return Promise.resolve(new Error('no port (test)'));
    const make = (): FakeRelayPort => {
      const port = req.evenPort && this.nextPort % 2 !== 0 ? ++this.nextPort : this.nextPort;
      this.nextPort = port + 1;
      const p = new FakeRelayPort(this.ports.length + 1, { host: this.host, port }, (pt, d, to) => this.onSend(pt, d, to));
      this.ports.push(p);
      return p;
    };
    if (!this.hold) return Promise.resolve(make());
    return new Promise((resolve) => this.held.push(() => resolve(make())));
  }

  release(): void {
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }

  get openCount(): number {
    return this.ports.filter((p) => !p.closed).length;
  }
}

export interface World {
  clock: ManualClock;
  net: MemoryNet;
  server: TurnServer;
  ports: FakeRelayPorts;
  /** Datagrams the server sent to clients, in order. */
  toClients: Array<{ data: Uint8Array; to: StunAddress }>;
  /** Datagrams the peer received, with the relay address they came from. */
  peerInbox: Array<{ data: Uint8Array; from: StunAddress }>;
  /** The peer sends `data` to a relayed address. */
  peerSend(to: StunAddress, data: Uint8Array, from?: StunAddress): void;
}

export function makeWorld(serverOptions: Partial<TurnServerOptions> = {}, seed = 1, relayHost: string = SERVER.host): World {
  const clock = new ManualClock(1_000_000);
  const random = new SeededRandom(seed);
  const net = new MemoryNet();
  const ports = new FakeRelayPorts(relayHost);
  const toClients: World['toClients'] = [];
  const peerInbox: World['peerInbox'] = [];
  const clientInboxes = new Map<string, (data: Uint8Array, from: StunAddress) => void>();
  const server = new TurnServer(
    {
      clock,
      random,
      host: {
        sendToClient: (data, to) => {
          toClients.push({ data: Uint8Array.from(data), to });
          const inbox = clientInboxes.get(`${to.host}|${to.port}`);
          if (inbox !== undefined) net.push(() => inbox(data, SERVER));
        },
      },
      relayPorts: ports,
      lookupKey: staticTurnUsers(REALM, USERS),
    },
    { realm: REALM, ...serverOptions },
  );
  ports.onSend = (port, data, to) => {
    if (to.port === PEER.port && sameIp(to.host, PEER.host)) net.push(() => peerInbox.push({ data: Uint8Array.from(data), from: port.address }));
  };
  const world: World & { clientInboxes: typeof clientInboxes } = {
    clock,
    net,
    server,
    ports,
    toClients,
    peerInbox,
    clientInboxes,
    peerSend(to, data, from = PEER) {
      const port = ports.ports.find((p) => !p.closed && p.address.port === to.port);
      if (port !== undefined) net.push(() => server.relayReceived(port.id, data, from));
    },
  };
  return world;
}

export interface ClientRig {
  stun: StunClient;
  client: TurnClient;
  /** Datagrams the client did not take (neither a STUN response of its transactions nor relay data). */
  unclaimed: number;
}

/** A TurnClient at `address`, wired to the world's server through the network (owner-style demultiplexing). */
export function addClient(world: World, options: Partial<TurnClientOptions> = {}, address: StunAddress = CLIENT, seed = 7): ClientRig {
  const random = new SeededRandom(seed);
  const sendToServer = (data: Uint8Array, to: StunAddress): void => {
    if (to.port !== SERVER.port || !sameIp(to.host, SERVER.host)) return;
    const copy = Uint8Array.from(data);
    world.net.push(() => world.server.receive(copy, address));
  };
  const stun = new StunClient({ clock: world.clock, random, send: sendToServer });
  const client = new TurnClient({ clock: world.clock, random, stun, send: sendToServer }, { server: SERVER, username: 'alice', password: USERS.alice, ...options });
  const rig: ClientRig = { stun, client, unclaimed: 0 };
  (world as World & { clientInboxes: Map<string, (d: Uint8Array, f: StunAddress) => void> }).clientInboxes.set(`${address.host}|${address.port}`, (data, from) => {
    if (isStunPacket(data)) {
      const d = decodeStun(data);
      if (d.ok && (d.value.cls === 'success' || d.value.cls === 'error')) {
        if (!stun.receive(d.value, from)) rig.unclaimed++;
        return;
      }
    }
    if (!client.receive(data, from)) rig.unclaimed++;
  });
  return rig;
}

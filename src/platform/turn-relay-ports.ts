/**
 * TURN relay ports on node's dgram sockets: the {@link RelayPorts} host interface of the TURN server
 * core (src/nat/turn/turn-server.ts). Each port is one UDP socket bound on the configured IP, on a
 * port of the configured range (random order, RFC 8656 §7.2 recommends randomized ports; RFC 6056)
 * or one the OS picks. Datagrams that arrive go to `onDatagram(portId, datagram, from)`, which the
 * owner points at `TurnServer.relayReceived`.
 *
 * Closing is reliable: `close()` is idempotent and removes the port at once; `closeAll()` closes every
 * port still open and resolves when the sockets are closed. A socket error after binding closes that
 * port (the allocation then relays nothing until it expires or is deleted).
 */
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { StunAddress } from '../nat/stun/stun-message.js';
import type { RelayPort, RelayPortRequest, RelayPorts } from '../nat/turn/turn-server.js';

export interface NodeRelayPortsOptions {
  /** IP literal the relay sockets bind to (a concrete address: it is what clients are told, unless `advertisedHost`). */
  host: string;
  /** The address written in XOR-RELAYED-ADDRESS when it differs from `host` (a 1:1 NAT's public IP). */
  advertisedHost?: string;
  /** Inclusive port range; default: ports the OS picks. */
  portRange?: readonly [low: number, high: number];
  /** Ports open at once (default 1,000); more are refused. */
  maxPorts?: number;
  /** Bind attempts per open: ports of the range tried in turn from a random one, or OS picks until an even one when asked (default 32). */
  maxAttempts?: number;
  /** SO_RCVBUF / SO_SNDBUF of each relay socket, bytes (default: the OS's). */
  bufferBytes?: number;
  /** Told about socket errors (bind failures are returned by open() instead). */
  onError?(context: string, error: Error): void;
}

export type RelayDatagramHandler = (portId: number, datagram: Uint8Array, from: StunAddress) => void;

interface Open {
  readonly port: RelayPort;
  readonly socket: Socket;
  closed: Promise<void> | undefined;
}

export class NodeRelayPorts implements RelayPorts {
  readonly families: readonly (4 | 6)[];
  private readonly open_ = new Map<number, Open>();
  private readonly closing = new Set<Promise<void>>();
  private nextId = 1;
  private opening = 0;
  private stopped = false;

  constructor(
    private readonly options: NodeRelayPortsOptions,
    private readonly onDatagram: RelayDatagramHandler,
  ) {
    const fam = isIP(options.host);
    if (fam !== 4 && fam !== 6) throw new RangeError(`relay host ${options.host} is not an IP literal`);
    if (options.advertisedHost !== undefined && isIP(options.advertisedHost) !== fam) throw new RangeError('advertisedHost must be an IP literal of the same family as host');
    const r = options.portRange;
    if (r !== undefined && !(Number.isInteger(r[0]) && Number.isInteger(r[1]) && r[0] >= 1 && r[1] <= 65535 && r[0] <= r[1])) throw new RangeError(`bad relay port range ${r[0]}-${r[1]}`);
    this.families = [fam];
  }

  /** Ports open now. */
  get size(): number {
    return this.open_.size;
  }

  async open(req: RelayPortRequest): Promise<RelayPort | Error> {
    if (this.stopped) return new Error('relay ports closed');
    if (!this.families.includes(req.family)) return new Error(`no IPv${req.family} relay address`);
    if (this.open_.size + this.opening >= (this.options.maxPorts ?? 1000)) return new Error('relay port limit reached');
    const r = this.options.portRange;
    if (r !== undefined && req.evenPort && r[0] === r[1] && r[0] % 2 !== 0) return new Error('no even port in the relay port range');
    this.opening++;
    try {
      const attempts = this.options.maxAttempts ?? 32;
      let last: Error = new Error('no relay port');
      const start = this.start(req.evenPort);
      for (let i = 0; i < attempts; i++) {
        const want = this.candidate(start, i, req.evenPort);
        const got = await this.bind(want);
        if (got instanceof Error) {
          last = got;
          if (!isAddrInUse(got)) break; // EADDRNOTAVAIL, EACCES…: another port will not help
          continue;
        }
        const boundPort = got.address().port;
        if (req.evenPort && boundPort % 2 !== 0) {
          await closeSocket(got);
          continue;
        }
        if (this.stopped) {
          await closeSocket(got);
          return new Error('relay ports closed');
        }
        return this.adopt(got, boundPort);
      }
      return last;
    } finally {
      this.opening--;
    }
  }

  /** Closes every port; resolves once their sockets are closed. Later opens are refused. */
  async closeAll(): Promise<void> {
    this.stopped = true;
    for (const o of [...this.open_.values()]) o.port.close();
    await Promise.allSettled([...this.closing]);
  }

  /** Where a search of the range starts: a random port (RFC 6056), even when an even one is wanted. */
  private start(even: boolean): number {
    const r = this.options.portRange;
    if (r === undefined) return 0;
    const p = randomInt(r[0], r[1] + 1);
    return even && p % 2 !== 0 ? (p + 1 <= r[1] ? p + 1 : p - 1) : p;
  }

  /** The i-th port to try: the OS's choice (0) without a range, else the range walked from `start`, wrapping. */
  private candidate(start: number, i: number, even: boolean): number {
    const r = this.options.portRange;
    if (r === undefined) return 0;
    const step = even ? 2 : 1;
    const firstEven = r[0] % 2 === 0 ? r[0] : r[0] + 1;
    const low = even ? firstEven : r[0];
    const slots = Math.max(1, Math.floor((r[1] - low) / step) + 1);
    return low + ((Math.floor((start - low) / step) + i) % slots) * step;
  }

  private bind(port: number): Promise<Socket | Error> {
    const v6 = this.families[0] === 6;
    const sock = createSocket({ type: v6 ? 'udp6' : 'udp4', ...(v6 ? { ipv6Only: true } : {}), reuseAddr: false });
    return new Promise((resolve) => {
      const onError = (e: Error): void => {
        sock.close();
        resolve(e);
      };
      sock.once('error', onError);
      sock.bind({ address: this.options.host, port, exclusive: true }, () => {
        sock.off('error', onError);
        resolve(sock);
      });
    });
  }

  private adopt(sock: Socket, boundPort: number): RelayPort {
    const id = this.nextId++;
    const address: StunAddress = { host: this.options.advertisedHost ?? this.options.host, port: boundPort };
    if (this.options.bufferBytes !== undefined) {
      try {
        sock.setRecvBufferSize(this.options.bufferBytes);
        sock.setSendBufferSize(this.options.bufferBytes);
      } catch (e) {
        this.options.onError?.(`relay ${boundPort}: buffer sizes`, asError(e));
      }
    }
    const entry: Open = {
      socket: sock,
      closed: undefined,
      port: {
        id,
        address,
        send: (datagram, to) => {
          if (entry.closed !== undefined) return;
          sock.send(datagram, to.port, to.host, (err) => {
            if (err !== null && err !== undefined) this.options.onError?.(`relay ${boundPort} → ${to.host}:${to.port}`, err);
          });
        },
        close: () => {
          if (entry.closed !== undefined) return;
          this.open_.delete(id);
          const done = closeSocket(sock);
          entry.closed = done;
          this.closing.add(done);
          void done.finally(() => this.closing.delete(done));
        },
      },
    };
    sock.on('message', (msg, rinfo) => {
      if (entry.closed === undefined) this.onDatagram(id, msg, { host: rinfo.address, port: rinfo.port });
    });
    sock.on('error', (e) => {
      this.options.onError?.(`relay ${boundPort}`, e);
      entry.port.close();
    });
    this.open_.set(id, entry);
    return entry.port;
  }
}

function closeSocket(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

function isAddrInUse(e: Error): boolean {
  return (e as NodeJS.ErrnoException).code === 'EADDRINUSE';
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

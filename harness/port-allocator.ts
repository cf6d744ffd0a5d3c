/**
 * Free ports on loopback for interop tests. Ports come from 20000-31999, below Linux's
 * ephemeral range (32768-60999), so that no program's own outgoing socket lands on a port
 * we hand out; every port is test-bound on both UDP and TCP before it is returned, and
 * never handed out twice by the same allocator.
 * sipsak 0.9.8.1 truncates 5-digit ports in the URIs it builds (sip:x@127.0.0.1:17060 becomes
 * ...:1706), so servers that sipsak talks to take a port from FOUR_DIGIT_PORTS.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

export interface PortRequest {
  /** Address to bind; only loopback is allowed. Default 127.0.0.1. */
  readonly host?: '127.0.0.1' | '::1';
  /** Number of consecutive free ports needed (baresip uses port+1 for TLS). Default 1. */
  readonly span?: number;
  /** Port range [low, high). Default DEFAULT_PORTS. */
  readonly range?: PortRange;
}

export type PortRange = readonly [low: number, high: number];

/** Below the ephemeral range. */
export const DEFAULT_PORTS: PortRange = [20000, 32000];
/** For servers named in sipsak URIs. */
export const FOUR_DIGIT_PORTS: PortRange = [6100, 9990];

const MAX_ATTEMPTS = 200;

export class PortAllocator {
  readonly #given = new Set<number>();
  readonly #next = new Map<string, number>();
  readonly #seed: number;

  constructor(seed: number = process.pid) {
    this.#seed = seed;
  }

  /** Returns the first port of `span` consecutive ports free on UDP and TCP. */
  async allocate(req: PortRequest = {}): Promise<number> {
    const host = req.host ?? '127.0.0.1';
    const span = req.span ?? 1;
    const range = req.range ?? DEFAULT_PORTS;
    if (!Number.isInteger(span) || span < 1 || span > 16) throw new RangeError(`bad span ${span}`);
    if (!(range[0] >= 1024 && range[1] <= 65536 && range[1] - range[0] > 4 * span)) {
      throw new RangeError(`bad port range ${range[0]}-${range[1]}`);
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const base = this.#take(span, range);
      let ok = true;
      for (let p = base; p < base + span && ok; p++) {
        ok = (await canBindUdp(host, p)) && (await canBindTcp(host, p));
      }
      if (ok) {
        for (let p = base; p < base + span; p++) this.#given.add(p);
        return base;
      }
    }
    throw new Error(`no ${span} free consecutive port(s) on ${host} after ${MAX_ATTEMPTS} attempts`);
  }

  #take(span: number, [low, high]: PortRange): number {
    const key = `${low}-${high}`;
    // Spread parallel test processes over the range.
    let next = this.#next.get(key) ?? low + ((this.#seed * 7919) % (high - low));
    for (let tries = 0; ; tries++) {
      if (tries > high - low) throw new Error(`port range ${key} exhausted`);
      if (next + span > high) next = low;
      const base = next;
      next += span;
      this.#next.set(key, next);
      let clash = false;
      for (let p = base; p < base + span; p++) if (this.#given.has(p)) clash = true;
      if (!clash) return base;
    }
  }
}

function canBindUdp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    sock.once('error', () => {
      try {
        sock.close();
      } catch {
        // never bound
      }
      resolve(false);
    });
    sock.bind({ address: host, port, exclusive: true }, () => {
      sock.close(() => resolve(true));
    });
  });
}

function canBindTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => {
      srv.close(() => resolve(true));
    });
  });
}

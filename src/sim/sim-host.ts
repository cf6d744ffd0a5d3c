import type { LinkEndpoint } from '../reload/link/link-driver.js';
import type { StreamLink } from './stream-link.js';

/** Receives the datagrams sent to a bound (host, port). */
export type DatagramReceiver = (data: Uint8Array, from: LinkEndpoint) => void;

/** What the stream transport needs of a link driver: the owner of link ends on one host. */
export interface LinkEndOwner {
  readonly host: SimHost;
  /** False after shutdown() or a crash of its host: it reports nothing any more. */
  readonly alive: boolean;
  /** This owner's link ends by id (connecting, open, or closing). */
  readonly links: Map<string, StreamLink>;
  emitOpened(link: StreamLink, side: 0 | 1): void;
  emitFailed(id: string, error: Error): void;
  emitClosed(id: string, error: Error | undefined): void;
  emitData(id: string, data: Uint8Array): void;
  /** Marks the owner dead (crash) without any event. */
  kill(): void;
}

/** Per-host traffic counters (bytes and packets as the wire sees them: retransmissions included). */
export interface HostCounters {
  bytesSent: number;
  bytesReceived: number;
  packetsSent: number;
  packetsReceived: number;
}

/** One simulated machine with one IP address. */
export class SimHost implements HostCounters {
  /** False once crashed silently: nothing reaches it or leaves it any more. */
  up = true;
  /** Partition group: hosts talk only within their group (0 = not named in the partition). */
  group = 0;
  readonly listeners = new Map<number, LinkEndOwner>();
  readonly owners = new Set<LinkEndOwner>();
  datagram: Map<number, DatagramReceiver> | undefined;
  nextEphemeral = 49152;
  bytesSent = 0;
  bytesReceived = 0;
  packetsSent = 0;
  packetsReceived = 0;

  constructor(
    readonly index: number,
    readonly address: string,
  ) {}

  /** An ephemeral port not used by a listener of this host. */
  ephemeralPort(): number {
    for (let i = 0; i < 16384; i++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p >= 65535 ? 49152 : p + 1;
      if (!this.listeners.has(p) && !this.datagram?.has(p)) return p;
    }
    return 0;
  }
}

/** The address of host number `index`: 10.0.0.1, 10.0.0.2, … (16 million addresses). */
export function simHostAddress(index: number): string {
  const n = index + 1;
  return `10.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

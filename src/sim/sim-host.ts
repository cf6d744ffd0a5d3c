import type { LinkEndpoint } from '../reload/link/link-driver.js';

/** Receives the datagrams sent to a bound (host, port). */
export type DatagramReceiver = (data: Uint8Array, from: LinkEndpoint) => void;

/** What a host needs of whatever owns sockets on it (a link driver). */
export interface HostedOwner {
  readonly alive: boolean;
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
export class SimHost<Owner extends HostedOwner = HostedOwner> implements HostCounters {
  /** False once crashed silently: nothing reaches it or leaves it any more. */
  up = true;
  /** Partition group: hosts talk only within their group (0 = not named in the partition). */
  group = 0;
  readonly listeners = new Map<number, Owner>();
  readonly owners = new Set<Owner>();
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

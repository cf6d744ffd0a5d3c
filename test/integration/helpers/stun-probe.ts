/**
 * A STUN endpoint for tests on real sockets: sends raw STUN datagrams and collects every answer by
 * transaction ID. `ask()` waits for the answer to one request, retransmitting like a STUN client
 * (bounded: a failure bound, never a synchronisation sleep).
 */
import { createSocket, type Socket } from 'node:dgram';
import { decodeStun, transactionKey } from '../../../src/nat/stun/stun-message.js';
import type { DecodedStun } from '../../../src/nat/stun/stun-message.js';

export interface StunTarget {
  host: string;
  port: number;
}

export class StunProbe {
  /** Datagrams received (STUN or not). */
  received = 0;
  /** Answers by transaction ID (hex); the first one kept. */
  readonly answers = new Map<string, DecodedStun>();
  private readonly waiters = new Map<string, (m: DecodedStun) => void>();

  private constructor(readonly socket: Socket) {
    socket.on('message', (buf) => {
      this.received++;
      const d = decodeStun(new Uint8Array(buf));
      if (!d.ok) return;
      const k = transactionKey(d.value.transactionId);
      if (!this.answers.has(k)) this.answers.set(k, d.value);
      const w = this.waiters.get(k);
      if (w !== undefined) {
        this.waiters.delete(k);
        w(d.value);
      }
    });
  }

  /** A socket bound on `host` (any port); rejects when the address cannot be bound. */
  static open(host = '127.0.0.1'): Promise<StunProbe> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => {
        socket.off('error', reject);
        resolve(new StunProbe(socket));
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(datagram: Uint8Array, to: StunTarget): void {
    this.socket.send(datagram, to.port, to.host);
  }

  /** Sends `request` (a STUN request, its transaction ID at bytes 8–20) up to `tries` times, `waitMs` apart; the answer or undefined. */
  ask(request: Uint8Array, to: StunTarget, waitMs = 200, tries = 1): Promise<DecodedStun | undefined> {
    const k = transactionKey(request.subarray(8, 20));
    const known = this.answers.get(k);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve) => {
      let sent = 0;
      let timer: NodeJS.Timeout | undefined;
      const attempt = (): void => {
        if (sent === tries) {
          this.waiters.delete(k);
          resolve(undefined);
          return;
        }
        sent++;
        this.send(request, to);
        timer = setTimeout(attempt, waitMs);
      };
      this.waiters.set(k, (m) => {
        if (timer !== undefined) clearTimeout(timer);
        resolve(m);
      });
      attempt();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/** Heap in use after full collections (the flag is set at run time: the test runner starts files without --expose-gc). */
export async function heapUsedAfterGc(): Promise<number> {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** One macrotask turn (lets the peer in this process read its socket). */
export function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

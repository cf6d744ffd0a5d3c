/**
 * A UDP endpoint for tests: sends raw datagrams to a peer and waits for datagrams matching a
 * predicate (the wait is bounded; it is a failure bound, never a synchronisation sleep).
 */
import { createSocket, type Socket } from 'node:dgram';

export class UdpProbe {
  readonly received: string[] = [];
  private waiters: Array<{ pred: (m: string) => boolean; resolve: (m: string) => void }> = [];

  private constructor(
    readonly socket: Socket,
    readonly host: string,
    readonly port: number,
  ) {
    socket.on('message', (buf) => {
      const text = buf.toString('latin1');
      this.received.push(text);
      for (const w of this.waiters.slice()) {
        if (w.pred(text)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(text);
        }
      }
    });
  }

  static open(host = '127.0.0.1', port = 0): Promise<UdpProbe> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve(new UdpProbe(socket, host, socket.address().port));
      });
    });
  }

  send(data: Uint8Array | string, port: number, host = '127.0.0.1'): void {
    this.socket.send(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, port, host);
  }

  /** Resolves with the first datagram (already received or future) matching `pred`. */
  waitFor(pred: (m: string) => boolean, timeoutMs = 5000, what = 'datagram'): Promise<string> {
    const hit = this.received.find(pred);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x.resolve !== done);
        reject(new Error(`no ${what} within ${timeoutMs} ms; received:\n${this.received.slice(-5).join('\n---\n')}`));
      }, timeoutMs);
      const done = (m: string): void => {
        clearTimeout(t);
        resolve(m);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** Status code of a SIP response text, or undefined for a request. */
export function statusOf(text: string): number | undefined {
  const m = /^SIP\/2\.0 (\d{3})/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export function headerOf(text: string, name: string): string | undefined {
  const re = new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im');
  return re.exec(text.split('\r\n\r\n')[0] ?? '')?.[1]?.trim();
}

/**
 * A TransportDriver that tells a log about every SIP datagram it sends and receives (the start
 * line, Call-ID and CSeq, the two addresses): `p2psip up --log-level trace`. Datagrams only — that is
 * where the peers' SIP channels and UDP phones are; stream bytes are not messages yet at this layer.
 * Sans-I/O: it only wraps the interface; a trace line costs one bounded scan of the message head.
 */
import type { TransportAddress, TransportProtocol } from './sip-transport.js';
import type { StreamProtocol, TransportDriver, TransportDriverUser } from './transport-driver.js';

export interface SipTraceLog {
  trace(obj: object, msg: string): void;
}

/** Bytes of a message's head scanned for the start line, Call-ID and CSeq. */
const HEAD_SCAN_BYTES = 2048;

export class TracingTransportDriver implements TransportDriver {
  constructor(
    private readonly inner: TransportDriver,
    private readonly log: SipTraceLog,
  ) {}

  setUser(user: TransportDriverUser): void {
    this.inner.setUser({
      ...bindUser(user),
      onDatagram: (local, remote, data) => {
        this.log.trace({ dir: 'in', from: addr(remote), to: addr(local), ...summarize(data) }, 'SIP datagram');
        user.onDatagram(local, remote, data);
      },
    });
  }

  listen(protocol: TransportProtocol, host: string, port: number): Promise<TransportAddress> {
    return this.inner.listen(protocol, host, port);
  }

  unlisten(address: TransportAddress): Promise<void> {
    return this.inner.unlisten(address);
  }

  sendDatagram(from: TransportAddress, to: TransportAddress, data: Uint8Array, onError?: (error: Error) => void): void {
    this.log.trace({ dir: 'out', from: addr(from), to: addr(to), ...summarize(data) }, 'SIP datagram');
    this.inner.sendDatagram(from, to, data, (error) => {
      this.log.trace({ dir: 'out', to: addr(to), err: error.message, ...summarize(data) }, 'SIP datagram not sent');
      onError?.(error);
    });
  }

  connect(remote: TransportAddress & { protocol: StreamProtocol }): string {
    return this.inner.connect(remote);
  }

  write(id: string, data: Uint8Array, binary?: boolean): void {
    this.inner.write(id, data, binary);
  }

  close(id: string): void {
    this.inner.close(id);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** The user's methods bound to it (a class instance's methods live on its prototype, which a spread loses). */
function bindUser(user: TransportDriverUser): TransportDriverUser {
  const accepted = user.onConnectionAccepted?.bind(user);
  return {
    onDatagram: (l, r, d) => user.onDatagram(l, r, d),
    ...(accepted === undefined ? {} : { onConnectionAccepted: accepted }),
    onConnectionOpened: (c) => user.onConnectionOpened(c),
    onConnectionFailed: (id, e) => user.onConnectionFailed(id, e),
    onConnectionClosed: (id, e) => user.onConnectionClosed(id, e),
    onStreamData: (id, d) => user.onStreamData(id, d),
    onWsMessage: (id, d, b) => user.onWsMessage(id, d, b),
  };
}

function addr(a: TransportAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Start line, Call-ID and CSeq of a SIP message (what fits in its first {@link HEAD_SCAN_BYTES} bytes). */
export function summarize(data: Uint8Array): { line: string; callId?: string; cseq?: string; bytes: number } {
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, HEAD_SCAN_BYTES)).toString('latin1');
  const lines = head.split(/\r?\n/);
  const out: { line: string; callId?: string; cseq?: string; bytes: number } = { line: (lines[0] ?? '').slice(0, 200), bytes: data.byteLength };
  for (const l of lines.slice(1)) {
    if (l === '') break;
    const m = /^(call-id|i|cseq)\s*:\s*(.*)$/i.exec(l);
    if (m === null) continue;
    const name = m[1]!.toLowerCase();
    if (name === 'cseq') out.cseq = m[2]!.slice(0, 100);
    else out.callId = m[2]!.slice(0, 200);
  }
  return out;
}

/**
 * A tiny SIP OPTIONS pinger over UDP (RFC 3261 §11), used to learn when a SIP server on
 * loopback answers. Any response status counts as "up".
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { LoopbackHost } from './sipp-runner.js';

/** Sends one OPTIONS (retransmitted every 200 ms) and resolves with the first status code, or undefined after timeoutMs. */
export function sipOptionsPing(host: LoopbackHost, port: number, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    let retrans: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (status: number | undefined): void => {
      if (settled) return;
      settled = true;
      if (retrans !== undefined) clearInterval(retrans);
      if (deadline !== undefined) clearTimeout(deadline);
      try {
        sock.close();
      } catch {
        // already closed
      }
      resolve(status);
    };
    sock.on('error', () => finish(undefined));
    sock.on('message', (msg) => {
      const m = /^SIP\/2\.0 (\d{3}) /.exec(msg.toString('latin1', 0, Math.min(msg.length, 64)));
      if (m?.[1] !== undefined) finish(Number(m[1]));
    });
    sock.bind({ address: host, port: 0 }, () => {
      const local = sock.address();
      const tag = randomBytes(6).toString('hex');
      const branch = `z9hG4bK${randomBytes(8).toString('hex')}`;
      const h = host.includes(':') ? `[${host}]` : host;
      const lh = host.includes(':') ? `[${local.address}]` : local.address;
      const text =
        `OPTIONS sip:${h}:${port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${lh}:${local.port};branch=${branch};rport\r\n` +
        `Max-Forwards: 70\r\n` +
        `From: <sip:probe@${lh}:${local.port}>;tag=${tag}\r\n` +
        `To: <sip:${h}:${port}>\r\n` +
        `Call-ID: probe-${tag}@${lh}\r\n` +
        `CSeq: 1 OPTIONS\r\n` +
        `Content-Length: 0\r\n\r\n`;
      const send = (): void => sock.send(text, port, host);
      send();
      retrans = setInterval(send, 200);
      deadline = setTimeout(() => finish(undefined), timeoutMs);
    });
  });
}

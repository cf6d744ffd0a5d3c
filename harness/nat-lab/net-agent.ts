/**
 * A tiny UDP/TCP echo agent that the NAT lab runs inside namespaces
 * (`ip netns exec <ns> node --import tsx harness/nat-lab/net-agent.ts ...`):
 *
 *   serve <bind-address> <udp-port|-> <tcp-port|->
 *       answers every UDP datagram and every TCP chunk with `seen <ip>:<port> <payload>` (the
 *       source it saw, i.e. the NAT mapping); prints `listening udp=<port> tcp=<port>` when ready
 *       and `got <udp|tcp> <ip>:<port>` per request.
 *   send <udp|tcp> <ip> <port> <timeout-ms> [local-port]
 *       sends `ping <n>` (UDP: again every 200 ms) until an answer or the timeout, then prints one
 *       JSON line: {"ok":true,"seenAs":"ip:port","rttMs":n,"local":"ip:port"} or {"ok":false,"error":"..."}.
 */
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:net';

const [mode, ...rest] = process.argv.slice(2);

function usage(): never {
  process.stderr.write('usage: net-agent serve <bind> <udp-port|-> <tcp-port|-> | send <udp|tcp> <ip> <port> <timeout-ms> [local-port]\n');
  process.exit(2);
}

function port(text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) usage();
  return n;
}

function print(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function serve(bind: string, udpText: string, tcpText: string): Promise<void> {
  let udpPort = '-';
  let tcpPort = '-';
  if (udpText !== '-') {
    const sock = createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      const from = `${rinfo.address}:${rinfo.port}`;
      process.stdout.write(`got udp ${from}\n`);
      sock.send(`seen ${from} ${msg.toString('utf8').slice(0, 200)}`, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => sock.bind({ address: bind, port: port(udpText) }, resolve));
    udpPort = String(sock.address().port);
  }
  if (tcpText !== '-') {
    const server = createServer((conn) => {
      const from = `${conn.remoteAddress ?? '?'}:${conn.remotePort ?? '?'}`;
      process.stdout.write(`got tcp ${from}\n`);
      conn.on('data', (data) => conn.write(`seen ${from} ${data.toString('utf8').slice(0, 200)}`));
      conn.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen({ host: bind, port: port(tcpText) }, resolve));
    tcpPort = String((server.address() as AddressInfo).port);
  }
  process.stdout.write(`listening udp=${udpPort} tcp=${tcpPort}\n`);
}

function parseSeen(text: string): string | undefined {
  return /^seen (\S+) /.exec(text)?.[1];
}

function sendUdp(ip: string, dport: number, timeoutMs: number, localPort: number): void {
  const sock = createSocket('udp4');
  const sent = new Map<number, bigint>();
  let n = 0;
  let timer: NodeJS.Timeout | undefined;
  const done = (result: Record<string, unknown>): void => {
    clearInterval(timer);
    clearTimeout(deadline);
    print(result);
    sock.close();
  };
  const deadline = setTimeout(() => done({ ok: false, proto: 'udp', error: 'timeout' }), timeoutMs);
  sock.on('error', (err) => done({ ok: false, proto: 'udp', error: err.message }));
  sock.on('message', (msg) => {
    const text = msg.toString('utf8');
    const seq = Number(/ ping (\d+)$/.exec(text)?.[1]);
    const t0 = sent.get(seq);
    const addr = sock.address();
    done({
      ok: true,
      proto: 'udp',
      seenAs: parseSeen(text),
      rttMs: t0 === undefined ? undefined : Number(process.hrtime.bigint() - t0) / 1e6,
      local: `${addr.address}:${addr.port}`,
    });
  });
  const ping = (): void => {
    n++;
    sent.set(n, process.hrtime.bigint());
    sock.send(`ping ${n}`, dport, ip);
  };
  sock.bind({ port: localPort }, () => {
    ping();
    timer = setInterval(ping, 200);
  });
}

function sendTcp(ip: string, dport: number, timeoutMs: number, localPort: number): void {
  const t0 = process.hrtime.bigint();
  const conn = connect({ host: ip, port: dport, ...(localPort === 0 ? {} : { localPort }) });
  const done = (result: Record<string, unknown>): void => {
    clearTimeout(deadline);
    print(result);
    conn.destroy();
  };
  const deadline = setTimeout(() => done({ ok: false, proto: 'tcp', error: 'timeout' }), timeoutMs);
  conn.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, proto: 'tcp', error: err.code ?? err.message }));
  conn.on('connect', () => conn.write('ping 1'));
  conn.on('data', (data) => {
    done({
      ok: true,
      proto: 'tcp',
      seenAs: parseSeen(data.toString('utf8')),
      rttMs: Number(process.hrtime.bigint() - t0) / 1e6,
      local: `${conn.localAddress ?? '?'}:${conn.localPort ?? '?'}`,
    });
  });
}

if (mode === 'serve') {
  const [bind, udp, tcp] = rest;
  if (bind === undefined || udp === undefined || tcp === undefined) usage();
  await serve(bind, udp, tcp);
} else if (mode === 'send') {
  const [proto, ip, dport, timeout, local] = rest;
  if (ip === undefined) usage();
  const timeoutMs = Number(timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) usage();
  if (proto === 'udp') sendUdp(ip, port(dport), timeoutMs, port(local ?? '0'));
  else if (proto === 'tcp') sendTcp(ip, port(dport), timeoutMs, port(local ?? '0'));
  else usage();
} else {
  usage();
}

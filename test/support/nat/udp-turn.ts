/**
 * The TURN cores on real UDP sockets, wired as the peer's owner will wire them (for the interop tests):
 * a shared socket whose datagrams are demultiplexed — TURN requests, Send indications and ChannelData
 * to the TurnServer, STUN responses to the StunClient, the server's Data indications and ChannelData to
 * the TurnClient, Binding requests to answerBinding — and the relay ports from platform/.
 */
import { createSocket, type Socket } from 'node:dgram';
import { answerBinding } from '../../../src/nat/stun/binding-server.js';
import { StunClient } from '../../../src/nat/stun/stun-client.js';
import { decodeStun, encodeStun, StunMethod } from '../../../src/nat/stun/stun-message.js';
import type { StunAddress } from '../../../src/nat/stun/stun-message.js';
import { TurnClient } from '../../../src/nat/turn/turn-client.js';
import type { TurnClientOptions } from '../../../src/nat/turn/turn-client.js';
import { staticTurnUsers } from '../../../src/nat/turn/turn-credentials.js';
import { TurnServer } from '../../../src/nat/turn/turn-server.js';
import type { TurnServerOptions } from '../../../src/nat/turn/turn-server.js';
import { isChannelData } from '../../../src/nat/turn/turn-channel-data.js';
import { CryptoRandom } from '../../../src/platform/crypto-random.js';
import { SystemClock } from '../../../src/platform/system-clock.js';
import { NodeRelayPorts } from '../../../src/platform/turn-relay-ports.js';

export async function bindUdp(host: string, port: number): Promise<Socket> {
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  return sock;
}

export function closeUdp(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

export interface UdpTurnServer {
  readonly server: TurnServer;
  readonly relayPorts: NodeRelayPorts;
  readonly address: StunAddress;
  /** Datagrams on the shared socket that neither the TURN server nor the Binding server took. */
  readonly unclaimed: () => number;
  close(): Promise<void>;
}

export interface UdpTurnServerOptions {
  host: string;
  port: number;
  realm: string;
  users: Record<string, string>;
  relayPortRange?: readonly [number, number];
  server?: Partial<TurnServerOptions>;
}

/** Our TURN server on `host:port` with static users, relay ports on the same IP. */
export async function startUdpTurnServer(o: UdpTurnServerOptions): Promise<UdpTurnServer> {
  const sock = await bindUdp(o.host, o.port);
  const address = { host: o.host, port: sock.address().port };
  const relayPorts = new NodeRelayPorts({ host: o.host, ...(o.relayPortRange === undefined ? {} : { portRange: o.relayPortRange }) }, (id, d, from) => server.relayReceived(id, d, from));
  const server: TurnServer = new TurnServer(
    {
      clock: new SystemClock(),
      random: new CryptoRandom(),
      host: { sendToClient: (d, to) => sock.send(d, to.port, to.host) },
      relayPorts,
      lookupKey: staticTurnUsers(o.realm, o.users),
    },
    { realm: o.realm, serverAddresses: [address], ...o.server },
  );
  let unclaimed = 0;
  sock.on('message', (msg, rinfo) => {
    const from = { host: rinfo.address, port: rinfo.port };
    if (isChannelData(msg, o.server?.rfc5766ChannelNumbers === true)) {
      if (!server.receiveChannelData(msg, from)) unclaimed++;
      return;
    }
    const d = decodeStun(msg);
    if (!d.ok) {
      unclaimed++;
      return;
    }
    if (server.handleStun(d.value, from)) return;
    const b = answerBinding(d.value, from, address);
    if (b !== undefined) sock.send(b.datagram, from.port, from.host);
    else unclaimed++;
  });
  return {
    server,
    relayPorts,
    address,
    unclaimed: () => unclaimed,
    async close() {
      await server.stop();
      await relayPorts.closeAll();
      await closeUdp(sock);
    },
  };
}

export interface UdpTurnClient {
  readonly client: TurnClient;
  readonly stun: StunClient;
  readonly local: StunAddress;
  readonly unclaimed: () => number;
  /** stop() (deallocate) then close the socket; resolves with stop()'s answer. */
  close(): Promise<boolean>;
}

/** Our TURN client on a fresh socket on `host`. */
export async function startUdpTurnClient(host: string, options: TurnClientOptions): Promise<UdpTurnClient> {
  const sock = await bindUdp(host, 0);
  const local = { host, port: sock.address().port };
  const clock = new SystemClock();
  const random = new CryptoRandom();
  const send = (d: Uint8Array, to: StunAddress): void => sock.send(d, to.port, to.host);
  const stun = new StunClient({ clock, random, send });
  const client = new TurnClient({ clock, random, stun, send }, options);
  let unclaimed = 0;
  sock.on('message', (msg, rinfo) => {
    const from = { host: rinfo.address, port: rinfo.port };
    if (client.receive(msg, from)) return;
    const d = decodeStun(msg);
    if (d.ok && (d.value.cls === 'success' || d.value.cls === 'error') && stun.receive(d.value, from)) return;
    unclaimed++;
  });
  return {
    client,
    stun,
    local,
    unclaimed: () => unclaimed,
    async close() {
      const ok = await client.stop();
      stun.stop();
      await closeUdp(sock);
      return ok;
    },
  };
}

/** Resolves once a STUN Binding request to `to` is answered (a server is up), or rejects after `timeoutMs`. */
export async function waitForStun(to: StunAddress, timeoutMs: number): Promise<void> {
  const sock = await bindUdp(to.host, 0);
  try {
    await new Promise<void>((resolve, reject) => {
      const tid = new CryptoRandom().bytes(12);
      const req = encodeStun({ method: StunMethod.Binding, cls: 'request', transactionId: tid, attributes: [] });
      const timer = setInterval(() => sock.send(req, to.port, to.host), 100);
      const deadline = setTimeout(() => {
        clearInterval(timer);
        reject(new Error(`no STUN answer from ${to.host}:${to.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.on('message', () => {
        clearInterval(timer);
        clearTimeout(deadline);
        resolve();
      });
      sock.send(req, to.port, to.host);
    });
  } finally {
    await closeUdp(sock);
  }
}

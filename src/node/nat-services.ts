/**
 * The TURN side of a peer (issue 12, RFC 6940 §9), composed on its overlay UDP port:
 * - `offerTurn`: a publicly reachable peer runs a TURN server on that port (relay ports on its
 *   address), hands out per-peer credentials through AppAttach(3478) (usages/turn/turn-app-attach.ts)
 *   and, once joined, advertises itself under TURN-SERVICE with the configured turn-density.
 * - `allocateRelay`: a peer behind a NAT asks a TURN peer for credentials and allocates a relay there;
 *   the relayed address becomes an ICE candidate (base `relay:<n>`) and the allocation's mapped
 *   address a server-reflexive one.
 */
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { CandidateGatherer } from '../nat/candidate-gatherer.js';
import type { UdpAddress } from '../nat/datagram-socket.js';
import type { NatPort } from '../nat/nat-port.js';
import { TurnClient } from '../nat/turn/turn-client.js';
import { TurnServer } from '../nat/turn/turn-server.js';
import type { Destination } from '../reload/codec/index.js';
import type { OverlayAnswer, RequestHandler } from '../reload/overlay/overlay-types.js';
import { NodeRelayPorts } from '../platform/turn-relay-ports.js';
import { TurnCredentialBook, TURN_APPLICATION_ID, requestTurnGrant, turnAppAttachHandler } from '../usages/turn/turn-app-attach.js';
import type { TurnGrant } from '../usages/turn/turn-app-attach.js';
import { firstKey, staticTurnUsers } from '../nat/turn/turn-credentials.js';

export interface TurnOffer {
  readonly server: TurnServer;
  readonly book: TurnCredentialBook;
  readonly address: UdpAddress;
  stats(): object;
  stop(): Promise<void>;
}

export function offerTurn(o: {
  nat: NatPort;
  clock: Clock;
  random: Random;
  /** Our public address (the overlay UDP port as others reach it). */
  address: UdpAddress;
  realm: string;
  handleApplication(application: number, handler: RequestHandler): void;
  /** Operator-configured users (username → password) accepted besides the overlay's members. */
  staticUsers?: Record<string, string>;
}): TurnOffer {
  const book = new TurnCredentialBook(o.clock, o.random, o.realm);
  let serverRef: TurnServer | undefined;
  const relayPorts = new NodeRelayPorts({ host: o.address.host }, (portId, d, from) => serverRef?.relayReceived(portId, d, from));
  const server = new TurnServer(
    { clock: o.clock, random: o.random, host: { sendToClient: (d, to) => o.nat.send('host', d, to) }, relayPorts, lookupKey: o.staticUsers === undefined ? book.lookupKey : firstKey(staticTurnUsers(o.realm, o.staticUsers), book.lookupKey) },
    { realm: o.realm, software: 'p2psip', serverAddresses: [o.address] },
  );
  serverRef = server;
  o.nat.setTurnServer({ receiveFromClient: (d, msg, from) => (msg === undefined ? server.receiveChannelData(d, from) : server.handleStun(msg, from)) });
  o.handleApplication(TURN_APPLICATION_ID, turnAppAttachHandler(book, () => o.address));
  return {
    server,
    book,
    address: o.address,
    stats: () => ({ address: `${o.address.host}:${o.address.port}`, credentials: { issued: book.issued, refused: book.refused, live: book.size }, ...server.stats() }),
    async stop() {
      o.nat.setTurnServer(undefined);
      await server.stop();
      await relayPorts.closeAll();
    },
  };
}

export interface RelayAllocation {
  readonly client: TurnClient;
  readonly base: string;
  stop(): Promise<void>;
}

let relaySeq = 0;

/**
 * An allocation at a TURN server: a peer of the overlay (`from`: credentials asked for with
 * AppAttach 3478) or an operator's server (`grant`: configured credentials, e.g. coturn). Resolves
 * once allocated (the candidate is in `gatherer`) or undefined (refused, no answer within `timeoutMs`).
 */
export async function allocateRelay(o: {
  nat: NatPort;
  gatherer: CandidateGatherer;
  clock: Clock;
  random: Random;
  from?: { request(dest: Destination[], code: number, body: Uint8Array): Promise<OverlayAnswer>; dest: Destination[] };
  grant?: TurnGrant;
  timeoutMs?: number;
}): Promise<RelayAllocation | undefined> {
  const grant = o.grant ?? (o.from === undefined ? undefined : await requestTurnGrant(o.from.request, o.from.dest, o.random));
  if (grant === undefined) return undefined;
  const base = `relay:${++relaySeq}`;
  const client = new TurnClient(
    { clock: o.clock, random: o.random, stun: o.nat.stun, send: (d, to) => void o.nat.send('host', d, to) },
    { server: grant.server, username: grant.username, password: grant.password, software: 'p2psip' },
  );
  const side = {
    server: grant.server,
    receiveFromServer: (d: Uint8Array, msg: Parameters<TurnClient['receiveIndication']>[0] | undefined) => (msg === undefined ? client.receive(d, grant.server) : client.receiveIndication(msg, grant.server)),
  };
  o.nat.addTurnClient(side);
  o.nat.setRelaySender(base, (d, to) => client.send(to, d) !== 'dropped');
  client.events.on('data', (e) => o.nat.receiveRelayed(base, e.data, e.peer));
  const allocated = await new Promise<boolean>((resolve) => {
    const timer = o.clock.setTimer(o.timeoutMs ?? 5_000, () => resolve(false));
    client.events.on('allocated', (a) => {
      timer.cancel();
      o.gatherer.addRelay({ base, relayed: a.relayed, mapped: a.mapped ?? a.relayed, server: grant.server });
      if (a.mapped !== undefined) o.gatherer.learnReflexive(a.mapped, grant.server, o.clock.now());
      resolve(true);
    });
    client.events.on('failed', () => {
      timer.cancel();
      resolve(false);
    });
    client.start();
  });
  const stop = async (): Promise<void> => {
    o.gatherer.removeRelay(base);
    o.nat.setRelaySender(base, undefined);
    o.nat.removeTurnClient(side);
    await client.stop().catch(() => false);
  };
  if (!allocated) {
    await stop();
    return undefined;
  }
  client.events.on('failed', () => void stop());
  return { client, base, stop };
}

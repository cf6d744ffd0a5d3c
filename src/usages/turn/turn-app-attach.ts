/**
 * How a peer gets TURN credentials from a peer that offers TURN (RFC 6940 §9 says peers offer TURN
 * but not how allocations are authorised; this is our choice): an AppAttach (§6.5.2) for
 * application 3478, signed end to end like every RELOAD message. The TURN peer answers with fresh
 * ICE-style credentials — `ufrag` as the TURN username, `password` as its password (long-term
 * mechanism, realm = the overlay name) — and its TURN address as a host candidate; it remembers them
 * for `credentialLifetimeMs`, bound to the requester's Node-ID. So only overlay members obtain
 * relays, each under its own name (the TURN server's per-user quota then is a per-peer quota).
 *
 * Bounded: at most `maxCredentials` remembered (the oldest forgotten first), at most
 * `maxPerNode` live per requester.
 */
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import { longTermKey } from '../../nat/stun/stun-message.js';
import type { UdpAddress } from '../../nat/datagram-socket.js';
import { MessageCode, OverlayLinkType, ReloadErrorCode, decodeAppAttachReqAns, encodeAppAttachReqAns } from '../../reload/codec/index.js';
import type { Destination } from '../../reload/codec/index.js';
import { fromIpAddressPort, toIpAddressPort } from '../../reload/overlay/candidates.js';
import type { HandlerReply, InboundRequest, OverlayAnswer } from '../../reload/overlay/overlay-types.js';

/** RFC 6940 §6.5.2 application: the STUN/TURN port. */
export const TURN_APPLICATION_ID = 3478;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();
const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function token(random: Random, n: number): string {
  let s = '';
  for (const b of random.bytes(n)) s += A[b & 63];
  return s;
}

export interface TurnCredentialBookOptions {
  /** Default 3,600,000 ms after the last use (every authenticated TURN request renews it). */
  credentialLifetimeMs?: number;
  /** Default 4,096. */
  maxCredentials?: number;
  /** Default 4. */
  maxPerNode?: number;
}

interface Credential {
  password: string;
  nodeHex: string;
  expiresAt: number;
}

/** The TURN peer's side: credentials it issued, as the TURN server's key lookup. */
export class TurnCredentialBook {
  private readonly byUser = new Map<string, Credential>();
  private readonly perNode = new Map<string, number>();
  private readonly lifetimeMs: number;
  private readonly max: number;
  private readonly maxPerNode: number;
  issued = 0;
  refused = 0;

  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
    readonly realm: string,
    opts: TurnCredentialBookOptions = {},
  ) {
    this.lifetimeMs = opts.credentialLifetimeMs ?? 3_600_000;
    this.max = opts.maxCredentials ?? 4096;
    this.maxPerNode = opts.maxPerNode ?? 4;
  }

  /**
   * New credentials for `node`; undefined when it holds `maxPerNode` live ones already, or when the
   * book is full of live credentials (then nobody's is evicted: on a self-signed overlay Node-IDs cost
   * nothing, and evicting live credentials would let anyone cut other peers' allocations).
   */
  issue(node: Uint8Array): { username: string; password: string } | undefined {
    const now = this.clock.now();
    const nodeHex = Buffer.from(node).toString('hex');
    this.sweep(now);
    if ((this.perNode.get(nodeHex) ?? 0) >= this.maxPerNode || this.byUser.size >= this.max) {
      this.refused++;
      return undefined;
    }
    const username = token(this.random, 16);
    const password = token(this.random, 24);
    this.byUser.set(username, { password, nodeHex, expiresAt: now + this.lifetimeMs });
    this.perNode.set(nodeHex, (this.perNode.get(nodeHex) ?? 0) + 1);
    this.issued++;
    return { username, password };
  }

  /** Drops expired credentials (the map is kept in expiry order: one lifetime for all, a use moves an entry to the end), oldest first. */
  private sweep(now: number): void {
    for (const [u, c] of this.byUser) {
      if (c.expiresAt > now) break;
      this.byUser.delete(u);
      const left = (this.perNode.get(c.nodeHex) ?? 1) - 1;
      if (left <= 0) this.perNode.delete(c.nodeHex);
      else this.perNode.set(c.nodeHex, left);
    }
  }

  /** The TURN server's key lookup (TurnKeyLookup). */
  lookupKey = (username: string, realm: string): Uint8Array | undefined => {
    if (realm !== this.realm) return undefined;
    const c = this.byUser.get(username);
    const now = this.clock.now();
    if (c === undefined || c.expiresAt <= now) return undefined;
    // in use (an Allocate, a Refresh): the credential lives on as long as its allocation is refreshed;
    // moved to the young end, so the book stays in expiry order
    c.expiresAt = now + this.lifetimeMs;
    this.byUser.delete(username);
    this.byUser.set(username, c);
    return longTermKey(username, realm, c.password);
  };

  get size(): number {
    return this.byUser.size;
  }
}

/** The AppAttach(3478) handler of a peer that offers TURN at `turnAddress()`. */
export function turnAppAttachHandler(book: TurnCredentialBook, turnAddress: () => UdpAddress | undefined): (req: InboundRequest) => HandlerReply {
  return (req) => {
    const d = decodeAppAttachReqAns(req.body);
    if (!d.ok) return { error: ReloadErrorCode.InvalidMessage, info: `AppAttach: ${d.error.message}` };
    const addr = turnAddress();
    const addrPort = addr === undefined ? undefined : toIpAddressPort(addr);
    if (addrPort === undefined) return { error: ReloadErrorCode.NotFound, info: 'AppAttach: this peer offers no TURN' };
    if (req.origin === undefined) return { error: ReloadErrorCode.Forbidden, info: 'AppAttach: TURN credentials need a known requester' };
    const cred = book.issue(req.origin);
    if (cred === undefined) return { error: ReloadErrorCode.Forbidden, info: 'AppAttach: too many TURN credentials for this node' };
    return {
      code: MessageCode.app_attach_ans,
      body: encodeAppAttachReqAns({
        ufrag: utf8.encode(cred.username),
        password: utf8.encode(cred.password),
        application: TURN_APPLICATION_ID,
        role: utf8.encode('passive'),
        candidates: [{ addrPort, overlayLink: OverlayLinkType['DTLS-UDP-SR'], foundation: utf8.encode('turn'), priority: 1, type: 'host', extensions: [] }],
      }),
    };
  };
}

export interface TurnGrant {
  server: UdpAddress;
  username: string;
  password: string;
}

/** Asks the TURN peer at `dest` for credentials; undefined when it refuses or does not answer. */
export async function requestTurnGrant(
  request: (dest: Destination[], code: number, body: Uint8Array) => Promise<OverlayAnswer>,
  dest: Destination[],
  random: Random,
): Promise<TurnGrant | undefined> {
  const body = encodeAppAttachReqAns({ ufrag: utf8.encode(token(random, 16)), password: utf8.encode(token(random, 24)), application: TURN_APPLICATION_ID, role: utf8.encode('active'), candidates: [] });
  const ans = await request(dest, MessageCode.app_attach_req, body);
  if (!ans.ok || ans.code !== MessageCode.app_attach_ans) return undefined;
  const d = decodeAppAttachReqAns(ans.body);
  if (!d.ok || d.value.application !== TURN_APPLICATION_ID) return undefined;
  const c = d.value.candidates[0];
  const server = c === undefined ? undefined : fromIpAddressPort(c.addrPort);
  if (server === undefined || server.port === 0) return undefined;
  return { server, username: utf8d.decode(d.value.ufrag), password: utf8d.decode(d.value.password) };
}

/**
 * Multicast bootstrap: a RELOAD Ping (RFC 6940 §6.5.3) sent to the overlay configuration's
 * `multicast-bootstrap` group, answered by a PingAns sent back by unicast; both carry where the
 * sender's overlay link listens, so each side learns a bootstrap candidate.
 *
 * Why this shape: RFC 6940 as published has no multicast bootstrap — §11.4 only says a joining
 * node contacts "a node in the overlay" (cached peers, then the configuration's bootstrap-node
 * elements). The `multicast-bootstrap` element ("a multicast, broadcast or anycast address and port
 * that may be used for bootstrap; nodes SHOULD listen on the address and SHOULD try contacting this
 * address for bootstrap") existed in the drafts (draft-ietf-p2psip-base up to -2x) and was dropped,
 * without saying what goes over it. So we keep the draft's idea with the smallest RFC 6940 message
 * that fits, the Ping, and carry what a Ping lacks (the listening port, the configuration
 * fingerprint, the Node-ID: a multicast Ping is sent from a UDP socket, not from the overlay link)
 * in one forwarding option of a private type, not critical (§6.3.2.3: peers that do not know it
 * ignore it). The messages are unsigned (SignerIdentity none): nothing learned here is trusted —
 * the overlay link's TLS handshake against the configuration proves membership.
 */
import { MessageCode, RELOAD_VERSION, UNFRAGMENTED, decodeReloadMessage, encodePingAns, encodePingReq, encodeReloadMessage, type ReloadMessage } from '../../reload/codec/index.js';
import { bytesEqual } from '../../lib/bytes.js';

/** Forwarding option type of the announcement (private use: no registry entry in RFC 6940 §14.8). */
export const BOOTSTRAP_OPTION_TYPE = 0xf0;
const OPTION_VERSION = 1;
/** RFC 6940 §6.3.2: TTL 1: a multicast Ping is never forwarded. */
const BOOTSTRAP_TTL = 1;
/** Largest datagram we read on the group port. */
export const MAX_BOOTSTRAP_DATAGRAM = 1500;

export interface BootstrapSelf {
  /** RFC 6940 §6.3.2 overlay hash of the overlay name. */
  overlayHash: number;
  configurationSequence: number;
  nodeId: Uint8Array;
  /** Overlay link (TLS) port. */
  overlayPort: number;
  /** 8 bytes: the first 16 hex digits of the configuration fingerprint. */
  fingerprint: Uint8Array;
}

export interface BootstrapAnnouncement {
  kind: 'ping' | 'answer';
  transactionId: bigint;
  nodeId: Uint8Array;
  port: number;
  /** Node-ID the answer is for (its destination). */
  to?: Uint8Array;
}

export type BootstrapProblem = 'bootstrap-too-big' | 'bootstrap-not-reload' | 'bootstrap-foreign-overlay' | 'bootstrap-not-ping' | 'bootstrap-no-option' | 'bootstrap-foreign-config' | 'bootstrap-own' | 'bootstrap-bad-port';

function optionValue(self: BootstrapSelf): Uint8Array {
  const v = new Uint8Array(1 + 2 + 8 + self.nodeId.length);
  v[0] = OPTION_VERSION;
  v[1] = self.overlayPort >> 8;
  v[2] = self.overlayPort & 0xff;
  v.set(self.fingerprint.subarray(0, 8), 3);
  v.set(self.nodeId, 11);
  return v;
}

function message(self: BootstrapSelf, code: number, body: Uint8Array, transactionId: bigint, destination: ReloadMessage['header']['destinationList']): Uint8Array {
  const msg: ReloadMessage = {
    header: {
      overlay: self.overlayHash,
      configurationSequence: self.configurationSequence,
      version: RELOAD_VERSION,
      ttl: BOOTSTRAP_TTL,
      fragment: UNFRAGMENTED,
      length: 0,
      transactionId,
      maxResponseLength: 0,
      viaList: [],
      destinationList: destination,
      options: [{ type: BOOTSTRAP_OPTION_TYPE, flags: 0, value: optionValue(self) }],
    },
    contents: { messageCode: code, body, extensions: [] },
    securityBlock: { certificates: [], signature: { algorithm: { hash: 0, signature: 0 }, identity: { type: 'none' }, signatureValue: new Uint8Array(0) } },
  };
  return encodeReloadMessage(msg, { nodeIdLength: self.nodeId.length, maxMessageSize: MAX_BOOTSTRAP_DATAGRAM });
}

/** The Ping to the group: destination our own Node-ID as a Resource-ID (as in §10.7.4.4's partition check). */
export function encodeBootstrapPing(self: BootstrapSelf, transactionId: bigint): Uint8Array {
  return message(self, MessageCode.ping_req, encodePingReq({ padding: new Uint8Array(0) }), transactionId, [{ type: 'resource', resourceId: self.nodeId }]);
}

/** The PingAns, unicast to the pinging socket, for the pinging Node-ID. */
export function encodeBootstrapAnswer(self: BootstrapSelf, ping: BootstrapAnnouncement, responseId: bigint, nowMs: number): Uint8Array {
  const body = encodePingAns({ responseId, time: BigInt(Math.max(0, Math.floor(nowMs))) });
  return message(self, MessageCode.ping_ans, body, ping.transactionId, [{ type: 'node', nodeId: ping.nodeId }]);
}

/**
 * Reads a datagram from the group or the answer socket: a whole RELOAD Ping or PingAns of our
 * overlay and configuration, with our option, not from ourselves. Never throws.
 */
export function decodeBootstrapDatagram(bytes: Uint8Array, self: BootstrapSelf): { ok: true; value: BootstrapAnnouncement } | { ok: false; problem: BootstrapProblem } {
  if (bytes.length > MAX_BOOTSTRAP_DATAGRAM) return { ok: false, problem: 'bootstrap-too-big' };
  const d = decodeReloadMessage(bytes, { nodeIdLength: self.nodeId.length, maxMessageSize: MAX_BOOTSTRAP_DATAGRAM });
  if (!d.ok) return { ok: false, problem: 'bootstrap-not-reload' };
  const { header, contents } = d.value;
  if (header.overlay !== self.overlayHash || header.version !== RELOAD_VERSION) return { ok: false, problem: 'bootstrap-foreign-overlay' };
  const kind = contents.messageCode === MessageCode.ping_req ? 'ping' : contents.messageCode === MessageCode.ping_ans ? 'answer' : undefined;
  if (kind === undefined) return { ok: false, problem: 'bootstrap-not-ping' };
  const opt = header.options.find((o) => o.type === BOOTSTRAP_OPTION_TYPE);
  const idLen = self.nodeId.length;
  if (opt === undefined || opt.value.length !== 11 + idLen || opt.value[0] !== OPTION_VERSION) return { ok: false, problem: 'bootstrap-no-option' };
  const v = opt.value;
  if (!bytesEqual(v.subarray(3, 11), self.fingerprint.subarray(0, 8))) return { ok: false, problem: 'bootstrap-foreign-config' };
  const nodeId = v.slice(11);
  if (bytesEqual(nodeId, self.nodeId)) return { ok: false, problem: 'bootstrap-own' };
  const port = (v[1]! << 8) | v[2]!;
  if (port === 0) return { ok: false, problem: 'bootstrap-bad-port' };
  const value: BootstrapAnnouncement = { kind, transactionId: header.transactionId, nodeId, port };
  const dest = header.destinationList[0];
  if (kind === 'answer' && dest?.type === 'node') value.to = dest.nodeId;
  return { ok: true, value };
}

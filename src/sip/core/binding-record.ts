/**
 * One AoR's bindings as a persisted record (issue 14: registrations survive a restart): JSON,
 * versioned, expiries in wall-clock ms (the injected Clock's scale ends with the process).
 *
 * Kept: each contact as registered (display name, URI, header parameters), its expiry, q, the
 * Call-ID and CSeq of the REGISTER that made it (RFC 3261 §10.3 step 7 ordering goes on across the
 * restart) and the address it came from. Not kept: the connection (flow) a phone registered over —
 * a TCP/TLS/WebSocket connection ends with the process, and a flow id of the old process could name
 * another phone's connection in the new one. A restored binding is reached at its Contact; one whose
 * Contact can only be reached over its flow (a `.invalid` host: WebSocket clients) is dropped.
 */
import { formatNameAddr, parseNameAddr } from '../message/index.js';
import type { Binding } from './location-service.js';

/** Record format version. */
const VERSION = 1;
/** Most bindings read from one record (a record is written with at most maxBindingsPerAor). */
const MAX_RECORD_BINDINGS = 64;

interface BindingJson {
  /** Contact as a name-addr. */
  c: string;
  /** Expiry, wall-clock ms. */
  e: number;
  q: number;
  /** Call-ID, CSeq. */
  i: string;
  s: number;
  /** Source transport, host, port. */
  t: string;
  h: string;
  p: number;
  /** 1 when the REGISTER came over a connection (a flow that did not survive). */
  f?: 1;
}

/** `toWall`: an expiry on the location service's clock → wall-clock ms. */
export function encodeBindingRecord(bindings: readonly Binding[], toWall: (expiresAt: number) => number): string {
  const b: BindingJson[] = bindings.map((x) => ({
    c: formatNameAddr(x.contact),
    e: Math.round(toWall(x.expiresAt)),
    q: x.q,
    i: x.callId,
    s: x.cseq,
    t: x.source.protocol,
    h: x.source.host,
    p: x.source.port,
    ...(x.flowId === undefined ? {} : { f: 1 as const }),
  }));
  return JSON.stringify({ v: VERSION, b });
}

/** What a record holds, expired bindings included; undefined when it cannot be read. */
export interface DecodedBindingRecord {
  bindings: Binding[];
  /** Bindings dropped because only their (lost) flow could reach them. */
  flowOnly: number;
}

/** `fromWall`: wall-clock ms → the location service's clock. */
export function decodeBindingRecord(aor: string, text: string, fromWall: (wallMs: number) => number): DecodedBindingRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(v) || v['v'] !== VERSION || !Array.isArray(v['b']) || v['b'].length > MAX_RECORD_BINDINGS) return undefined;
  const bindings: Binding[] = [];
  let flowOnly = 0;
  for (const x of v['b'] as unknown[]) {
    if (!isObject(x)) return undefined;
    const { c, e, q, i, s, t, h, p, f } = x;
    if (typeof c !== 'string' || typeof e !== 'number' || typeof q !== 'number' || typeof i !== 'string' || typeof s !== 'number') return undefined;
    if ((t !== 'udp' && t !== 'tcp' && t !== 'tls' && t !== 'ws' && t !== 'wss') || typeof h !== 'string' || typeof p !== 'number') return undefined;
    if (!Number.isFinite(e) || !(q >= 0 && q <= 1) || !Number.isInteger(s) || !Number.isInteger(p)) return undefined;
    let contact;
    try {
      contact = parseNameAddr(c, 'Contact');
    } catch {
      return undefined;
    }
    const uri = contact.uri as { host?: unknown };
    if (f === 1 && typeof uri.host === 'string' && uri.host.toLowerCase().endsWith('.invalid')) {
      flowOnly++;
      continue;
    }
    bindings.push({ aor, contact, expiresAt: fromWall(e), q, callId: i, cseq: s, source: { protocol: t, host: h, port: p }, flowId: undefined });
  }
  return { bindings, flowOnly };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The slice of mDNS (RFC 6762) and DNS-SD (RFC 6763) that LAN discovery reads and writes, as plain
 * data: the platform adapter (platform/lan-discovery.ts) turns the `multicast-dns` package's decoded
 * packets into an {@link MdnsPacketView} with {@link viewOfPacket} and back. Everything here is pure:
 * every count and length is checked against {@link MdnsLimits} before anything else looks at it.
 */

export type MdnsRecord =
  | { type: 'A'; name: string; ttl: number; flush: boolean; data: string }
  | { type: 'AAAA'; name: string; ttl: number; flush: boolean; data: string }
  | { type: 'PTR'; name: string; ttl: number; flush: boolean; data: string }
  | { type: 'SRV'; name: string; ttl: number; flush: boolean; data: { priority: number; weight: number; port: number; target: string } }
  | { type: 'TXT'; name: string; ttl: number; flush: boolean; data: Uint8Array[] }
  /** RFC 3403 NAPTR (RFC 3263 §4.1): only answered (for the SIP domain), never read. */
  | { type: 'NAPTR'; name: string; ttl: number; flush: boolean; data: { order: number; preference: number; flags: string; services: string; regexp: string; replacement: string } };

export type MdnsRecordType = MdnsRecord['type'];

export interface MdnsQuestion {
  /** Lowercase, no trailing dot. */
  name: string;
  /** A record type we know, 'ANY', or 'OTHER' (never answered). */
  type: MdnsRecordType | 'ANY' | 'OTHER';
  /** RFC 6762 §5.4: the QU bit (the asker wants a unicast answer). */
  unicastResponse: boolean;
}

export interface MdnsPacketView {
  kind: 'query' | 'response';
  id: number;
  questions: MdnsQuestion[];
  /** Answers, authorities and additionals of a response, in that order; of a query: its known answers. */
  records: MdnsRecord[];
  /** Records of a type we do not read (skipped, counted). */
  skipped: number;
}

/** Bounds on one received packet (RFC 6762 §17: at most 9000 bytes). */
export interface MdnsLimits {
  maxPacketBytes: number;
  maxQuestions: number;
  /** Answers + authorities + additionals. */
  maxRecords: number;
  /** A name in presentation form (RFC 1035 §2.3.4: 255 octets). */
  maxNameChars: number;
  /** TXT strings per record. */
  maxTxtStrings: number;
  /** Bytes of all TXT strings of one record. */
  maxTxtBytes: number;
}

export const DEFAULT_MDNS_LIMITS: Readonly<MdnsLimits> = Object.freeze({
  maxPacketBytes: 9000,
  maxQuestions: 32,
  maxRecords: 64,
  maxNameChars: 253,
  maxTxtStrings: 16,
  maxTxtBytes: 1300,
});

/** Why a packet was dropped: one log line per kind, counters in /api/status. */
export type PacketProblem = 'too-big' | 'not-an-object' | 'too-many-questions' | 'too-many-records' | 'bad-name' | 'bad-record';

export type ViewResult = { ok: true; view: MdnsPacketView } | { ok: false; problem: PacketProblem };

/** Record types read from responses. */
const KNOWN: ReadonlySet<string> = new Set(['A', 'AAAA', 'PTR', 'SRV', 'TXT']);
/** Question types answered. */
const ASKED: ReadonlySet<string> = new Set([...KNOWN, 'NAPTR']);
/** dns-packet decodes a question's class with the QU bit (0x8000) set as this name (it keeps only the string). */
const QU_CLASS_NAMES: ReadonlySet<string> = new Set(['UNKNOWN_32769']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** A DNS name as we compare it: lowercase, no trailing dot; undefined when not a bounded, well-formed name. */
export function normalName(v: unknown, limits: Pick<MdnsLimits, 'maxNameChars'> = DEFAULT_MDNS_LIMITS): string | undefined {
  if (typeof v !== 'string') return undefined;
  const n = (v.endsWith('.') ? v.slice(0, -1) : v).toLowerCase();
  if (n.length === 0 || n.length > limits.maxNameChars) return undefined;
  for (const label of n.split('.')) if (label.length === 0 || label.length > 63) return undefined;
  // no control characters in names we read
  for (let i = 0; i < n.length; i++) if (n.charCodeAt(i) < 0x20 || n.charCodeAt(i) === 0x7f) return undefined;
  return n;
}

function u16(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff ? v : undefined;
}

/**
 * Checks a decoded packet (shape of the `multicast-dns`/`dns-packet` objects, taken as `unknown`)
 * against `limits` and keeps the records we read. `size`: bytes on the wire.
 */
export function viewOfPacket(p: unknown, size: number, limits: MdnsLimits = DEFAULT_MDNS_LIMITS): ViewResult {
  if (!(size >= 0) || size > limits.maxPacketBytes) return { ok: false, problem: 'too-big' };
  if (!isObject(p)) return { ok: false, problem: 'not-an-object' };
  const kind = p['type'] === 'response' ? 'response' : p['type'] === 'query' ? 'query' : undefined;
  if (kind === undefined) return { ok: false, problem: 'not-an-object' };
  const qs = Array.isArray(p['questions']) ? (p['questions'] as unknown[]) : [];
  if (qs.length > limits.maxQuestions) return { ok: false, problem: 'too-many-questions' };
  const lists = ['answers', 'authorities', 'additionals'].map((k) => (Array.isArray(p[k]) ? (p[k] as unknown[]) : []));
  const total = lists.reduce((n, l) => n + l.length, 0);
  if (total > limits.maxRecords) return { ok: false, problem: 'too-many-records' };
  const questions: MdnsQuestion[] = [];
  for (const q of qs) {
    if (!isObject(q)) return { ok: false, problem: 'bad-record' };
    const name = normalName(q['name'], limits);
    if (name === undefined) return { ok: false, problem: 'bad-name' };
    const t = typeof q['type'] === 'string' ? q['type'] : '';
    const type = ASKED.has(t) || t === 'ANY' ? (t as MdnsQuestion['type']) : 'OTHER';
    const cls = q['class'];
    const unicastResponse = (typeof cls === 'string' && QU_CLASS_NAMES.has(cls)) || (typeof cls === 'number' && (cls & 0x8000) !== 0);
    questions.push({ name, type, unicastResponse });
  }
  const records: MdnsRecord[] = [];
  let skipped = 0;
  for (const list of lists) {
    for (const a of list) {
      const r = recordOf(a, limits);
      if (r === 'skip') skipped++;
      else if (r === 'bad-name' || r === 'bad-record') return { ok: false, problem: r };
      else records.push(r);
    }
  }
  const id = u16(p['id']) ?? 0;
  return { ok: true, view: { kind, id, questions, records, skipped } };
}

function recordOf(a: unknown, limits: MdnsLimits): MdnsRecord | 'skip' | 'bad-name' | 'bad-record' {
  if (!isObject(a)) return 'bad-record';
  const type = a['type'];
  if (typeof type !== 'string' || !KNOWN.has(type)) return 'skip';
  const name = normalName(a['name'], limits);
  if (name === undefined) return 'bad-name';
  const ttlRaw = a['ttl'];
  const ttl = typeof ttlRaw === 'number' && Number.isInteger(ttlRaw) && ttlRaw >= 0 ? Math.min(ttlRaw, 0x7fffffff) : 0;
  const flush = a['flush'] === true;
  const data = a['data'];
  switch (type) {
    case 'A':
    case 'AAAA':
      if (typeof data !== 'string' || data.length > 45) return 'bad-record';
      return { type, name, ttl, flush, data };
    case 'PTR': {
      const target = normalName(data, limits);
      if (target === undefined) return 'bad-name';
      return { type, name, ttl, flush, data: target };
    }
    case 'SRV': {
      if (!isObject(data)) return 'bad-record';
      const target = normalName(data['target'], limits);
      const port = u16(data['port']);
      if (target === undefined) return 'bad-name';
      if (port === undefined) return 'bad-record';
      return { type, name, ttl, flush, data: { priority: u16(data['priority']) ?? 0, weight: u16(data['weight']) ?? 0, port, target } };
    }
    default: {
      // TXT: dns-packet gives an array of Buffers (or one Buffer/string when encoded by hand)
      const parts = Array.isArray(data) ? (data as unknown[]) : [data];
      if (parts.length > limits.maxTxtStrings) return 'bad-record';
      const out: Uint8Array[] = [];
      let bytes = 0;
      for (const s of parts) {
        const b = s instanceof Uint8Array ? s : typeof s === 'string' ? new TextEncoder().encode(s) : undefined;
        if (b === undefined || b.length > 255) return 'bad-record';
        bytes += b.length;
        if (bytes > limits.maxTxtBytes) return 'bad-record';
        out.push(b);
      }
      return { type: 'TXT', name, ttl, flush, data: out };
    }
  }
}

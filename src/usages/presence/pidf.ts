/**
 * PIDF, the Presence Information Data Format (RFC 3863): parsing what phones PUBLISH (bounded,
 * validated), and composing one document for a presentity from the pieces several devices published
 * (RFC 3903 §4's event state compositor, for the presence package of RFC 3856).
 *
 * Each tuple and each extension element (the RPID `dm:person` baresip and linphone send, RFC 4479 /
 * RFC 4480) is kept as its exact text, made self-contained (the namespace declarations it relied on
 * copied onto it), so a composed document keeps every extension a phone wrote.
 */
import { isSipUri, parseUri } from '../../sip/message/index.js';
import { PresenceError } from './presence-error.js';
import { decodeXmlText, detachElement, escapeXml, namespaceDeclarations, outline, prefixOf, rawAttributes } from './xml-elements.js';
import type { XmlSpan } from './xml-elements.js';
import { xmlParser } from './xml-parser.js';

export const PIDF_NS = 'urn:ietf:params:xml:ns:pidf';
export const PIDF_CONTENT_TYPE = 'application/pidf+xml';

/** Largest PIDF document taken from a phone, characters. */
export const MAX_PIDF_CHARS = 16_384;
/** Most tuples in one published document. */
export const MAX_PIDF_TUPLES = 16;
/** Most other top-level elements (notes, person, device, extensions) in one published document. */
export const MAX_PIDF_ELEMENTS = 16;
/** Most tuples in a composed document (several devices); past it the last ones are left out. */
export const MAX_COMPOSED_TUPLES = 32;
/** Most extension elements in a composed document; past it the last ones are left out. */
export const MAX_COMPOSED_ELEMENTS = 32;
/** Longest entity or contact URI, characters. */
export const MAX_PIDF_URI_CHARS = 512;

/** One tuple (RFC 3863 §4.1.2): a device's or service's status. */
export interface PidfTuple {
  id: string;
  /** `status/basic`; undefined when the status has only extensions. */
  basic: 'open' | 'closed' | undefined;
  contact: string | undefined;
  /** The contact's priority (0..1), when given. */
  priority: number | undefined;
  notes: string[];
  /** As written (xs:dateTime). */
  timestamp: string | undefined;
  /** The tuple's exact text, self-contained (namespace declarations it relied on added). */
  xml: string;
}

/** A top-level element other than a tuple (a note, `dm:person`, `dm:device`, an extension), self-contained. */
export interface PidfElement {
  /** Local name (`person`, `note`…). */
  name: string;
  /** Its namespace URI ('' when none). */
  ns: string;
  /** Its `id` attribute, when it has one. */
  id: string | undefined;
  xml: string;
}

export interface PidfDocument {
  entity: string;
  tuples: PidfTuple[];
  elements: PidfElement[];
}

export type PidfParseResult = { ok: true; document: PidfDocument } | { ok: false; error: PresenceError };

/** A presence URI (RFC 3863 §4.1.1: the entity): sip:, sips: or pres: with a user part. */
export function isPresentityUri(text: string): boolean {
  if (text.length === 0 || text.length > MAX_PIDF_URI_CHARS) return false;
  if (/^pres:/i.test(text)) return /^pres:[^\s@<>"]+@[^\s@<>"]+$/i.test(text);
  try {
    const u = parseUri(text);
    return isSipUri(u) && u.user !== undefined && u.user !== '';
  } catch {
    return false;
  }
}

/** Parses a PIDF document. Never throws: anything refused is an error the service answers 400. */
export function parsePidf(text: string): PidfParseResult {
  try {
    return { ok: true, document: parseDocument(text) };
  } catch (e) {
    if (e instanceof PresenceError) return { ok: false, error: e };
    return { ok: false, error: new PresenceError('bad-pidf', `internal error: ${String(e)}`, { cause: e }) };
  }
}

function bad(message: string): PresenceError {
  return new PresenceError('bad-pidf', message);
}

function parseDocument(text: string): PidfDocument {
  if (typeof text !== 'string') throw bad('not text');
  if (text.length > MAX_PIDF_CHARS) throw bad(`document of ${text.length} characters exceeds ${MAX_PIDF_CHARS}`);
  // no DTDs: no entity expansion from a document that came over the network
  if (/<!DOCTYPE/i.test(text)) throw bad('DOCTYPE declarations are not allowed');
  const { validate } = xmlParser();
  const valid = validate(text);
  if (valid !== true) throw bad(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  const shape = outline(text);
  if (shape === undefined) throw bad('not one document element');
  const { root, children } = shape;
  const rootNs = namespaceDeclarations(root.attrText);
  const nsOf = (span: XmlSpan): string => {
    const own = namespaceDeclarations(span.attrText);
    const p = prefixOf(span.qname);
    const v = own.get(p) ?? rootNs.get(p);
    return v === undefined ? '' : decodeXmlText(v);
  };
  if (localName(root.qname) !== 'presence' || nsOf(root) !== PIDF_NS) throw bad(`the document element must be presence in ${PIDF_NS}`);
  const entityRaw = rawAttributes(root.attrText).get('entity');
  if (entityRaw === undefined) throw bad('presence has no entity');
  const entity = decodeXmlText(entityRaw).trim();
  if (!isPresentityUri(entity)) throw bad('the entity is not a sip:, sips: or pres: URI with a user part');

  const tuples: PidfTuple[] = [];
  const elements: PidfElement[] = [];
  const ids = new Set<string>();
  for (const child of children) {
    const name = localName(child.qname);
    const ns = nsOf(child);
    const xml = detachElement(text, root, child, PIDF_NS);
    if (name === 'tuple' && ns === PIDF_NS) {
      if (tuples.length >= MAX_PIDF_TUPLES) throw bad(`more than ${MAX_PIDF_TUPLES} tuples`);
      const tuple = readTuple(xml, tuples.length + 1);
      if (ids.has(tuple.id)) throw bad(`tuple id ${JSON.stringify(tuple.id)} appears twice`);
      ids.add(tuple.id);
      tuples.push(tuple);
      continue;
    }
    if (elements.length >= MAX_PIDF_ELEMENTS) throw bad(`more than ${MAX_PIDF_ELEMENTS} elements beside the tuples`);
    const idRaw = rawAttributes(child.attrText).get('id');
    elements.push({ name, ns, id: idRaw === undefined ? undefined : decodeXmlText(idRaw), xml });
  }
  return { entity, tuples, elements };
}

function localName(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}

type Node = Record<string, unknown>;

function one(node: Node, name: string, path: string): unknown {
  const v = node[name];
  if (!Array.isArray(v) || v.length === 0) return undefined;
  if (v.length > 1) throw bad(`${path}/${name} appears more than once`);
  return v[0];
}

function textOf(v: unknown, path: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null) {
    const t = (v as Node)['#text'];
    if (t === undefined) return '';
    if (typeof t === 'string') return t;
  }
  throw bad(`${path}: expected text`);
}

function attr(v: unknown, name: string): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const a = (v as Node)[`@_${name}`];
  return typeof a === 'string' ? a : undefined;
}

const NCNAME = /^[A-Za-z_][\w.-]{0,127}$/;
const DATE_TIME = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/** RFC 3863 §4.1.2–§4.1.7: a tuple's id, status/basic, contact (with priority), notes, timestamp. */
function readTuple(xml: string, index: number): PidfTuple {
  const path = `tuple[${index}]`;
  const parsed = xmlParser().parse(xml);
  const list = typeof parsed === 'object' && parsed !== null ? (parsed as Node)['tuple'] : undefined;
  const t = Array.isArray(list) ? (list[0] as unknown) : undefined;
  if (typeof t !== 'object' || t === null) throw bad(`${path}: unreadable`);
  const node = t as Node;
  const id = attr(node, 'id');
  if (id === undefined || !NCNAME.test(id)) throw bad(`${path}: the id attribute is missing or not an XML name`);
  const status = one(node, 'status', path);
  if (status === undefined) throw bad(`${path}: no status`);
  let basic: PidfTuple['basic'];
  if (typeof status === 'object' && status !== null) {
    const b = one(status as Node, 'basic', `${path}/status`);
    if (b !== undefined) {
      const v = textOf(b, `${path}/status/basic`);
      if (v !== 'open' && v !== 'closed') throw bad(`${path}/status/basic must be open or closed`);
      basic = v;
    }
  }
  let contact: string | undefined;
  let priority: number | undefined;
  const c = one(node, 'contact', path);
  if (c !== undefined) {
    contact = textOf(c, `${path}/contact`);
    if (contact.length === 0 || contact.length > MAX_PIDF_URI_CHARS || /[\s<>"]/.test(contact)) throw bad(`${path}/contact is not a URI`);
    const p = attr(c, 'priority');
    if (p !== undefined) {
      if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(p)) throw bad(`${path}/contact priority must be a qvalue (0 to 1)`);
      priority = Number(p);
    }
  }
  const notes: string[] = [];
  const rawNotes = node['note'];
  if (Array.isArray(rawNotes)) for (const n of rawNotes) notes.push(textOf(n, `${path}/note`));
  let timestamp: string | undefined;
  const ts = one(node, 'timestamp', path);
  if (ts !== undefined) {
    timestamp = textOf(ts, `${path}/timestamp`);
    if (!DATE_TIME.test(timestamp)) throw bad(`${path}/timestamp is not an xs:dateTime`);
  }
  return { id, basic, contact, priority, notes, timestamp, xml };
}

/** The tuple of a user whose phones never PUBLISH: open while registered anywhere (like Kamailio's pua_usrloc). */
export function registrationTuple(aor: string, registered: boolean): PidfTuple {
  const basic = registered ? 'open' : 'closed';
  const xml = `<tuple id="reg"><status><basic>${basic}</basic></status><contact>${escapeXml(aor)}</contact></tuple>`;
  return { id: 'reg', basic, contact: aor, priority: undefined, notes: [], timestamp: undefined, xml };
}

/**
 * One PIDF document for `entity` from several devices' tuples and extension elements, in the order
 * RFC 3863's schema wants (tuples, notes, then other namespaces). Ids (xs:ID) made unique: a second
 * `t1` becomes `t1-2`. At most MAX_COMPOSED_TUPLES tuples and MAX_COMPOSED_ELEMENTS elements.
 */
export function composePidf(entity: string, tuples: readonly PidfTuple[], elements: readonly PidfElement[] = []): string {
  const used = new Set<string>();
  const parts: string[] = [];
  for (const t of tuples.slice(0, MAX_COMPOSED_TUPLES)) parts.push(uniqueId(t.xml, t.id, used));
  const kept = elements.slice(0, MAX_COMPOSED_ELEMENTS);
  const notes = kept.filter((e) => e.name === 'note' && e.ns === PIDF_NS);
  const others = kept.filter((e) => !(e.name === 'note' && e.ns === PIDF_NS));
  for (const e of notes) parts.push(e.xml);
  for (const e of others) parts.push(e.id === undefined ? e.xml : uniqueId(e.xml, e.id, used));
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="${PIDF_NS}" entity="${escapeXml(entity)}">\n` +
    parts.map((p) => `  ${p}\n`).join('') +
    '</presence>\n'
  );
}

/** The element text with its (first) id attribute renamed when `id` is taken already. */
function uniqueId(xml: string, id: string, used: Set<string>): string {
  if (!used.has(id)) {
    used.add(id);
    return xml;
  }
  let n = 2;
  while (used.has(`${id}-${n}`)) n++;
  const fresh = `${id}-${n}`;
  used.add(fresh);
  const tagEnd = startTagEnd(xml);
  const head = xml.slice(0, tagEnd).replace(/(\sid\s*=\s*)(?:"[^"]*"|'[^']*')/, `$1"${escapeXml(fresh)}"`);
  return head + xml.slice(tagEnd);
}

function startTagEnd(xml: string): number {
  let quote = '';
  for (let i = 0; i < xml.length; i++) {
    const c = xml[i]!;
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return i + 1;
  }
  return xml.length;
}

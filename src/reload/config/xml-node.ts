import { ConfigDocumentError } from './config-error.js';

/**
 * Typed access to fast-xml-parser output (every element an array; attributes as `@_name`; text of
 * an element with attributes as `#text`), failing with the element path.
 */
export type XmlObject = Record<string, unknown>;

export function children(node: XmlObject, name: string): unknown[] {
  const v = node[name];
  return Array.isArray(v) ? v : [];
}

export function textOf(v: unknown, path: string): string {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'object' && v !== null) {
    const t = (v as XmlObject)['#text'];
    if (t === undefined) return '';
    if (typeof t === 'string') return t.trim();
  }
  throw new ConfigDocumentError('CONFIG_INVALID', path, 'expected text content');
}

export function attrOf(v: unknown, name: string): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const a = (v as XmlObject)[`@_${name}`];
  return typeof a === 'string' ? a : undefined;
}

export function asObject(v: unknown): XmlObject {
  return typeof v === 'object' && v !== null ? (v as XmlObject) : {};
}

/** The text of an element that may appear at most once, or undefined. */
export function optionalText(node: XmlObject, name: string, path: string): string | undefined {
  const list = children(node, name);
  if (list.length > 1) throw new ConfigDocumentError('CONFIG_INVALID', `${path}/${name}`, 'may appear only once');
  return list.length === 0 ? undefined : textOf(list[0], `${path}/${name}`);
}

export function parseInteger(text: string, path: string, min: number, max: number): number {
  if (!/^[+-]?\d{1,15}$/.test(text)) throw new ConfigDocumentError('CONFIG_INVALID', path, `${JSON.stringify(text)} is not an integer`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigDocumentError('CONFIG_INVALID', path, `${n} is outside ${min}..${max}`);
  return n;
}

/** xsd:boolean: true/1, false/0. */
export function parseBoolean(text: string, path: string): boolean {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new ConfigDocumentError('CONFIG_INVALID', path, `${JSON.stringify(text)} is not a boolean (true, false, 1, 0)`);
}

/** xsd:base64Binary (whitespace allowed). */
export function parseBase64(text: string, path: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new ConfigDocumentError('CONFIG_INVALID', path, 'not base64');
  }
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

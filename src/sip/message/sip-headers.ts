/**
 * An ordered list of header fields, kept as received: the name as written and the value
 * verbatim, so a proxy forwards what it does not understand byte-exactly. Lookups are
 * case-insensitive and understand compact forms (RFC 3261 §7.3.3).
 */
import { detachString } from './detach-string.js';

/** Compact form → full name, lowercase (RFC 3261 §7.3.3 and later RFCs). */
const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  r: 'refer-to',
  b: 'referred-by',
  u: 'allow-events',
  a: 'accept-contact',
  j: 'reject-contact',
  d: 'request-disposition',
  x: 'session-expires',
  y: 'identity',
};

/**
 * Names seen on the wire → [the name as one shared string, its key]. Every message repeats the
 * same few dozen names: sharing them keeps each stored message small (transactions hold theirs
 * for up to 32 s). Bounded, so that made-up names cannot grow it. What it keeps is a copy: a name
 * is a slice of its message's header section, and the table lives as long as the process (issue
 * 14: each of 512 made-up names of 13+ characters kept its whole message, up to 32 KB, forever).
 */
const INTERNED = new Map<string, readonly [string, string]>();
const MAX_INTERNED = 512;

function computeKey(name: string): string {
  const lower = name.toLowerCase();
  return lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
}

function intern(name: string): readonly [string, string] {
  let hit = INTERNED.get(name);
  if (hit === undefined) {
    if (INTERNED.size >= MAX_INTERNED) return [name, computeKey(name)];
    const own = detachString(name);
    hit = [own, computeKey(own)];
    INTERNED.set(own, hit);
  }
  return hit;
}

/** Canonical lookup key of a header name: lowercase, compact forms expanded. */
export function headerKey(name: string): string {
  return intern(name)[1];
}

export interface HeaderField {
  /** Canonical key (lowercase, compact form expanded). */
  readonly key: string;
  /** Name as written on the wire (or as given when added). */
  readonly name: string;
  /** Value verbatim (leading/trailing whitespace trimmed, folding kept as received). */
  readonly value: string;
}

export class SipHeaders implements Iterable<HeaderField> {
  private fields: HeaderField[];

  constructor(fields: Iterable<readonly [string, string]> = []) {
    this.fields = [];
    for (const [name, value] of fields) this.append(name, value);
  }

  /** Number of header fields. */
  get size(): number {
    return this.fields.length;
  }

  [Symbol.iterator](): Iterator<HeaderField> {
    return this.fields[Symbol.iterator]();
  }

  /** Value of the first field with this name. */
  get(name: string): string | undefined {
    const key = headerKey(name);
    for (const f of this.fields) if (f.key === key) return f.value;
    return undefined;
  }

  /** Values of every field with this name, in order (values are not split at commas). */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (const f of this.fields) if (f.key === key) out.push(f.value);
    return out;
  }

  has(name: string): boolean {
    const key = headerKey(name);
    return this.fields.some((f) => f.key === key);
  }

  /** Number of fields with this name. */
  count(name: string): number {
    const key = headerKey(name);
    let n = 0;
    for (const f of this.fields) if (f.key === key) n++;
    return n;
  }

  append(name: string, value: string): void {
    const [shared, key] = intern(name);
    this.fields.push({ key, name: shared, value });
  }

  /** Inserts before the first field of the same name, or at the top when there is none (Via, Record-Route). */
  prepend(name: string, value: string): void {
    const key = headerKey(name);
    const i = this.fields.findIndex((f) => f.key === key);
    const field = { key, name, value };
    if (i < 0) this.fields.unshift(field);
    else this.fields.splice(i, 0, field);
  }

  /** Replaces every field of this name with one (placed where the first was, else appended). */
  set(name: string, value: string): void {
    const key = headerKey(name);
    const i = this.fields.findIndex((f) => f.key === key);
    const field = { key, name, value };
    if (i < 0) {
      this.fields.push(field);
      return;
    }
    this.fields = this.fields.filter((f, j) => j === i || f.key !== key);
    this.fields[i] = field;
  }

  /** Removes every field of this name; returns how many were removed. */
  remove(name: string): number {
    const key = headerKey(name);
    const before = this.fields.length;
    this.fields = this.fields.filter((f) => f.key !== key);
    return before - this.fields.length;
  }

  /** Replaces the value of the first field of this name (keeps its position and written name). */
  replaceFirst(name: string, value: string): boolean {
    const key = headerKey(name);
    const i = this.fields.findIndex((f) => f.key === key);
    if (i < 0) return false;
    const old = this.fields[i]!;
    this.fields[i] = { key, name: old.name, value };
    return true;
  }

  /** Removes the first field of this name (after splitting nothing); returns its value. */
  removeFirst(name: string): string | undefined {
    const key = headerKey(name);
    const i = this.fields.findIndex((f) => f.key === key);
    if (i < 0) return undefined;
    const [f] = this.fields.splice(i, 1);
    return f?.value;
  }

  clone(): SipHeaders {
    const h = new SipHeaders();
    h.fields = this.fields.slice();
    return h;
  }
}

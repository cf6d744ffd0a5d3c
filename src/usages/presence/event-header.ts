/**
 * The header fields of SIP-specific event notification the presence service reads: Event
 * (RFC 6665 §8.2.1, with its `id` parameter) and Accept (RFC 3261 §20.1, media ranges with
 * wildcards).
 */

export interface EventHeader {
  /** The event package, lowercased (`presence`, `dialog`, `message-summary`). */
  event: string;
  /** The `id` parameter, when present. */
  id: string | undefined;
}

const TOKEN = /^[A-Za-z0-9!%*_+`'~.-]+$/;

/** Parses an Event value (`presence;id=7`); undefined when it is not `event-type *(;param)`. */
export function parseEventHeader(value: string | undefined): EventHeader | undefined {
  if (value === undefined || value.length > 256) return undefined;
  const parts = value.split(';').map((p) => p.trim());
  const event = parts[0]!;
  if (!TOKEN.test(event)) return undefined;
  let id: string | undefined;
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (!TOKEN.test(name)) return undefined;
    if (name === 'id' && eq >= 0) {
      const v = p.slice(eq + 1).trim();
      const unq = v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1) : v;
      if (unq === '' || /[\r\n"]/.test(unq)) return undefined;
      id = unq;
    }
  }
  return { event: event.toLowerCase(), id };
}

/** The Event value of our NOTIFYs: the package and the subscription's id. */
export function formatEventHeader(e: EventHeader): string {
  return e.id === undefined ? e.event : `${e.event};id=${TOKEN.test(e.id) ? e.id : `"${e.id}"`}`;
}

/**
 * Whether the Accept fields of a request allow `contentType` (`type/subtype`). No Accept field:
 * the package's default type is accepted (RFC 6665 §7.2.1). An empty Accept accepts nothing.
 */
export function acceptsType(acceptFields: readonly string[], contentType: string): boolean {
  if (acceptFields.length === 0) return true;
  const [type, subtype] = contentType.toLowerCase().split('/');
  for (const field of acceptFields) {
    for (const range of field.split(',')) {
      const [media, ...params] = range.split(';');
      const m = media!.trim().toLowerCase();
      if (m === '') continue;
      // a q=0 range refuses the type (RFC 3261 §20.1 via RFC 2616 §14.1)
      if (params.some((p) => /^\s*q\s*=\s*0(\.0{0,3})?\s*$/i.test(p))) continue;
      const [t, s] = m.split('/').map((x) => x.trim());
      if ((t === '*' && s === '*') || (t === type && (s === '*' || s === subtype))) return true;
    }
  }
  return false;
}

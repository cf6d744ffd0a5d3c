/**
 * Reads a SIPp `-trace_msg` log (`<name>-messages.log`) back into messages: each entry is a separator
 * line of dashes with the time, `UDP message sent (N bytes):` or `UDP message received [N] bytes :`,
 * a blank line, then the message text. Used by the presence tests to check what went by (statuses,
 * ETags, NOTIFY bodies and Subscription-State) without trusting SIPp's own checks alone.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface LoggedSipMessage {
  readonly direction: 'sent' | 'received';
  /** Wall-clock time SIPp logged, ms since the epoch (NaN when unreadable). */
  readonly atMs: number;
  /** The message, lines joined with \r\n. */
  readonly text: string;
  /** Request method, or undefined for a response. */
  readonly method: string | undefined;
  /** Response status, or undefined for a request. */
  readonly status: number | undefined;
  /** The CSeq method (for responses: what they answer). */
  readonly cseqMethod: string | undefined;
}

const SEPARATOR = /^-{20,}\s*(\S+)\s+(\S+)/;

export function readSippMessageLog(path: string): LoggedSipMessage[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const out: LoggedSipMessage[] = [];
  let i = 0;
  while (i < lines.length) {
    const sep = SEPARATOR.exec(lines[i]!);
    if (sep === null) {
      i++;
      continue;
    }
    const atMs = Date.parse(`${sep[1]!.replace(/\//g, '-')}T${sep[2]!}Z`);
    const kind = lines[i + 1] ?? '';
    const direction = /sent/i.test(kind) ? 'sent' : /received/i.test(kind) ? 'received' : undefined;
    i += 2;
    const body: string[] = [];
    while (i < lines.length && !SEPARATOR.test(lines[i]!)) body.push(lines[i++]!);
    if (direction === undefined) continue;
    // the message starts after blank lines; SIPp adds blank lines after it
    while (body.length > 0 && body[0]!.trim() === '') body.shift();
    while (body.length > 0 && body[body.length - 1]!.trim() === '') body.pop();
    const text = body.join('\r\n');
    const first = body[0] ?? '';
    const status = /^SIP\/2\.0 (\d{3})/.exec(first);
    out.push({
      direction,
      atMs,
      text,
      method: status === null ? first.split(' ')[0] : undefined,
      status: status === null ? undefined : Number(status[1]),
      cseqMethod: /^CSeq:\s*\d+\s+(\S+)/im.exec(text)?.[1],
    });
  }
  return out;
}

/** A header's value (first occurrence; compact forms not handled). */
export function headerOf(text: string, name: string): string | undefined {
  const head = text.split(/\r\n\r\n/)[0] ?? '';
  const m = new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im').exec(head);
  return m?.[1]?.trim();
}

/** The body (after the first blank line). */
export function bodyOf(text: string): string {
  const at = text.indexOf('\r\n\r\n');
  return at < 0 ? '' : text.slice(at + 4);
}

/** The <basic> values of a PIDF body, in order. */
export function pidfBasics(body: string): string[] {
  return [...body.matchAll(/<(?:\w+:)?basic>\s*([^<\s]+)\s*<\/(?:\w+:)?basic>/g)].map((m) => m[1]!);
}

/** The <note> texts of a PIDF body, in order. */
export function pidfNotes(body: string): string[] {
  return [...body.matchAll(/<(?:\w+:)?note(?:\s[^>]*)?>([^<]*)<\/(?:\w+:)?note>/g)].map((m) => m[1]!.trim());
}

/** The tuple ids of a PIDF body. */
export function pidfTupleIds(body: string): string[] {
  return [...body.matchAll(/<(?:\w+:)?tuple\b[^>]*\bid="([^"]*)"/g)].map((m) => m[1]!);
}

/**
 * What `p2psip up` says when it cannot start (issue 17, "the first five minutes"): an error from the
 * depths (`listen EADDRINUSE 0.0.0.0:6084`, `ENOTDIR`) becomes a sentence naming the flag that moves
 * or fixes it. Pure: the caller gives the addresses it configured.
 */

/** One address `up` binds, and the flag that sets it. */
export interface BoundAddress {
  flag: string;
  /** What listens there, in words ("overlay links (TLS) and the overlay UDP port"). */
  what: string;
  port: number;
  /** How the flag's value is written (`<host:port>`, `<lo-hi>`). */
  argument: string;
  /** For a range (--media-ports). */
  lastPort?: number;
}

const SOCKET_CODES: Readonly<Record<string, string>> = {
  EADDRINUSE: 'is already in use (another p2psip, or another program, listens there)',
  EACCES: 'needs privileges (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
  EADDRNOTAVAIL: 'is not an address of this machine',
};

const PATH_CODES: Readonly<Record<string, string>> = {
  ENOTDIR: 'is not a directory (a file is in the way)',
  EACCES: 'cannot be written by this user',
  EPERM: 'cannot be written by this user',
  EROFS: 'is on a read-only file system',
  ENOSPC: 'is on a full file system',
};

/** The error messages and `code`s of `err` and its causes, outermost first (at most 8 deep). */
function chain(err: unknown): Array<{ message: string; code?: string; port?: number }> {
  const out: Array<{ message: string; code?: string; port?: number }> = [];
  let e: unknown = err;
  for (let i = 0; i < 8 && e !== undefined && e !== null; i++) {
    if (typeof e !== 'object') {
      out.push({ message: String(e) });
      break;
    }
    const o = e as { message?: unknown; code?: unknown; port?: unknown; cause?: unknown };
    out.push({
      message: typeof o.message === 'string' ? o.message : String(e),
      ...(typeof o.code === 'string' ? { code: o.code } : {}),
      ...(typeof o.port === 'number' ? { port: o.port } : {}),
    });
    e = o.cause;
  }
  return out;
}

/** The errno code named in the messages or `code`s, if one of `codes`. */
function findCode(links: ReturnType<typeof chain>, codes: Readonly<Record<string, string>>): string | undefined {
  for (const l of links) {
    if (l.code !== undefined && l.code in codes) return l.code;
    for (const c of Object.keys(codes)) if (new RegExp(`\\b${c}\\b`).test(l.message)) return c;
  }
  return undefined;
}

/** The port in `host:port` at the end of a socket error message (`listen EADDRINUSE: address already in use 127.0.0.1:8060`). */
function findPort(links: ReturnType<typeof chain>): number | undefined {
  for (const l of links) {
    if (l.port !== undefined) return l.port;
    const m = /(?:\d{1,3}(?:\.\d{1,3}){3}|\[?[0-9a-fA-F:]*:[0-9a-fA-F:]*\]?|localhost):(\d{1,5})\b/.exec(l.message);
    if (m !== null) return Number(m[1]);
  }
  return undefined;
}

/**
 * A sentence for a start failure of `up`, naming the flag, or undefined when `err` is not a socket
 * or data-directory problem we recognise (the caller prints the message as it is).
 */
export function explainStartError(err: unknown, bound: readonly BoundAddress[], dataDir: { flag: string; path: string } | undefined): string | undefined {
  const links = chain(err);
  const first = links[0]?.message ?? String(err);
  const socketCode = findCode(links, SOCKET_CODES);
  if (socketCode !== undefined) {
    const port = findPort(links);
    const hit = port === undefined ? undefined : bound.find((b) => (b.lastPort === undefined ? b.port === port : port >= b.port && port <= b.lastPort));
    if (hit !== undefined) {
      return `port ${port} (${hit.what}) ${SOCKET_CODES[socketCode]}; choose another with ${hit.flag} ${hit.argument} — ${first}`;
    }
  }
  const pathCode = findCode(links, PATH_CODES);
  if (pathCode !== undefined && dataDir !== undefined && links.some((l) => l.message.includes(dataDir.path))) {
    return `the data directory ${dataDir.path} ${PATH_CODES[pathCode]}; choose another with ${dataDir.flag} <dir> — ${first}`;
  }
  return undefined;
}

/**
 * The peer cache (issue 15; RFC 6940 §11.4 "cached nodes", the peer caches of JXTA-era overlays):
 * peers recently seen — Node-ID, overlay address, when — kept in `<data-dir>/peers.json` (mode
 * 0600, written atomically at most every {@link PEER_CACHE_WRITE_INTERVAL_MS} and at stop), most
 * recent first, at most {@link MAX_CACHED_PEERS}, and offered as bootstrap candidates at the next
 * start. A file that is not what we write (garbage, another version) is ignored with one log line.
 */
import type { Clock, TimerHandle } from '../lib/clock.js';
import { readOptionalFile, writeFileAtomic } from './atomic-file.js';

export interface CachedPeer {
  /** Node-ID, lowercase hex. */
  nodeId: string;
  /** Overlay (TLS) address: an IP literal, unbracketed. */
  host: string;
  port: number;
  /** Wall-clock ms when last seen. */
  lastSeen: number;
}

/** Entries kept at most. */
export const MAX_CACHED_PEERS = 32;
/** Writes at most this often (and once more at stop). */
export const PEER_CACHE_WRITE_INTERVAL_MS = 30_000;
/** A larger file is not read (32 entries take ~4 KB). */
export const MAX_PEER_CACHE_BYTES = 65_536;
export const PEER_CACHE_FILE = 'peers.json';
const VERSION = 1;

/** The entries of a peer cache file's text, or why it was refused (pure). */
export function parsePeerCache(text: string, max = MAX_CACHED_PEERS): { peers: CachedPeer[]; error?: string } {
  if (text.length > MAX_PEER_CACHE_BYTES) return { peers: [], error: `larger than ${MAX_PEER_CACHE_BYTES} bytes` };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { peers: [], error: `not JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  if (typeof doc !== 'object' || doc === null || (doc as { version?: unknown }).version !== VERSION || !Array.isArray((doc as { peers?: unknown }).peers)) {
    return { peers: [], error: `not a version ${VERSION} peer cache` };
  }
  const peers: CachedPeer[] = [];
  for (const p of (doc as { peers: unknown[] }).peers) {
    const c = validPeer(p);
    if (c !== undefined && !peers.some((x) => x.host === c.host && x.port === c.port)) peers.push(c);
    if (peers.length >= max) break;
  }
  peers.sort((a, b) => b.lastSeen - a.lastSeen);
  return { peers };
}

export function serializePeerCache(peers: readonly CachedPeer[]): string {
  return `${JSON.stringify({ version: VERSION, peers }, null, 1)}\n`;
}

function validPeer(p: unknown): CachedPeer | undefined {
  if (typeof p !== 'object' || p === null) return undefined;
  const { nodeId, host, port, lastSeen } = p as Record<string, unknown>;
  if (typeof nodeId !== 'string' || !/^[0-9a-f]{2,128}$/.test(nodeId)) return undefined;
  if (typeof host !== 'string' || host.length === 0 || host.length > 64 || !/^[0-9a-fA-F.:%a-zA-Z-]+$/.test(host)) return undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (typeof lastSeen !== 'number' || !Number.isFinite(lastSeen) || lastSeen < 0) return undefined;
  return { nodeId, host, port, lastSeen };
}

export interface PeerCacheDeps {
  /** Where the file lives (`<data-dir>/peers.json`). */
  path: string;
  clock: Clock;
  /** Wall-clock ms (lastSeen). */
  wallClock: () => number;
  log?: (line: string) => void;
  max?: number;
}

/** The cache of one data directory: load at start, `seen()` as peers link up, written behind. */
export class PeerCache {
  private peers: CachedPeer[] = [];
  private dirty = false;
  private timer: TimerHandle | undefined;
  private lastWrite = -Infinity;
  private stopped = false;
  private readonly max: number;
  /** The write in flight (stop waits for it). */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly d: PeerCacheDeps) {
    this.max = d.max ?? MAX_CACHED_PEERS;
  }

  /** Reads the file (absent → empty; unreadable or garbage → empty, one log line). */
  async load(): Promise<CachedPeer[]> {
    let text: string | undefined;
    try {
      text = await readOptionalFile(this.d.path);
    } catch (e) {
      this.d.log?.(`peer cache ${this.d.path} not read: ${e instanceof Error ? e.message : String(e)}`);
      return [];
    }
    if (text === undefined) return [];
    const r = parsePeerCache(text, this.max);
    if (r.error !== undefined) this.d.log?.(`peer cache ${this.d.path} ignored: ${r.error}`);
    this.peers = r.peers;
    return [...this.peers];
  }

  /** The entries now, most recent first. */
  list(): CachedPeer[] {
    return [...this.peers];
  }

  /** A peer seen now (a link to it came up): moved to the front; written within the write interval. */
  seen(nodeId: string, host: string, port: number): void {
    if (this.stopped) return;
    const c = validPeer({ nodeId: nodeId.toLowerCase(), host, port, lastSeen: this.d.wallClock() });
    if (c === undefined) return;
    this.peers = [c, ...this.peers.filter((p) => !(p.host === c.host && p.port === c.port) && p.nodeId !== c.nodeId)].slice(0, this.max);
    this.dirty = true;
    this.scheduleWrite();
  }

  /** Resolves when the write in flight (if any) is done (tests, stop). */
  whenWritten(): Promise<void> {
    return this.writing;
  }

  /** Writes what is pending, and no more after. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.writing;
    if (this.dirty) await this.write();
  }

  private scheduleWrite(): void {
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastWrite + PEER_CACHE_WRITE_INTERVAL_MS - this.d.clock.now());
    this.timer = this.d.clock.setTimer(wait, () => {
      this.timer = undefined;
      void this.write();
    });
  }

  private write(): Promise<void> {
    if (!this.dirty) return this.writing;
    this.dirty = false;
    this.lastWrite = this.d.clock.now();
    const text = serializePeerCache(this.peers);
    this.writing = this.writing.then(async () => {
      try {
        await writeFileAtomic(this.d.path, text, 0o600);
      } catch (e) {
        this.d.log?.(`peer cache ${this.d.path} not written: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
    return this.writing;
  }
}

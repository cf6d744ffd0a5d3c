/**
 * Server-Sent Events (WHATWG HTML §9.2, `text/event-stream`) to the dashboard's browsers, as a pure
 * core: what is sent, to whom, at what pace and within which limits. The platform HTTP server only
 * carries each client's chunks (platform/http-server.ts HttpStream) and reports backpressure.
 *
 * Limits (each explicit, named and tested):
 * - at most {@link EventStreamLimits.maxClients} streams at once: the next is refused (the route
 *   answers 503 with Retry-After);
 * - each client has a bounded queue: while its socket refuses writes, events wait in the queue; past
 *   {@link EventStreamLimits.maxQueuedBytes} the client is dropped (its connection closed), so a slow
 *   or stalled browser never makes the peer buffer without bound;
 * - an event larger than {@link EventStreamLimits.maxEventBytes} is not sent (counted);
 * - a comment line every {@link EventStreamLimits.heartbeatMs} keeps proxies and the browser from
 *   timing the stream out and finds dead clients (their socket closes).
 * `close()` (the peer stops) ends every stream and refuses new ones.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { ApiStream, ApiStreamSink } from '../status-api.js';

export interface EventStreamLimits {
  /** Streams open at once; one more is refused. */
  maxClients: number;
  /** Bytes one client may have waiting (its socket refusing writes); past it the client is dropped. */
  maxQueuedBytes: number;
  /** Largest event (its whole `event:/id:/data:` text); a larger one is not sent. */
  maxEventBytes: number;
  /** Interval of the keep-alive comment. */
  heartbeatMs: number;
  /** The browser's reconnection delay, sent as `retry:` first (ms). */
  retryMs: number;
}

export const DEFAULT_EVENT_STREAM_LIMITS: Readonly<EventStreamLimits> = Object.freeze({
  maxClients: 16,
  maxQueuedBytes: 256 * 1024,
  maxEventBytes: 64 * 1024,
  heartbeatMs: 15_000,
  retryMs: 3_000,
});

export interface EventStreamStats {
  /** Streams accepted, refused (limit or closed), dropped for being slow, closed by the client. */
  opened: number;
  refused: number;
  droppedSlow: number;
  closedByClient: number;
  /** Events given to clients (one per client), events too large to send. */
  eventsSent: number;
  eventsTooLarge: number;
}

/** One SSE event's wire text (`data` is JSON: it has no raw line breaks, so one `data:` line). */
export function formatSseEvent(name: string, data: unknown, id?: number): string {
  if (/[\r\n:]/.test(name) || name === '') throw new RangeError(`bad SSE event name ${JSON.stringify(name)}`);
  return `event: ${name}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

/** The keep-alive comment (ignored by EventSource). */
export const SSE_HEARTBEAT = ': keep-alive\n\n';

/** One connected browser: a bounded queue in front of its socket. */
class StreamClient implements ApiStream {
  private sink: ApiStreamSink | undefined;
  private readonly queue: string[] = [];
  private queuedBytes = 0;
  /** The socket refused the last write: wait for `drained`. */
  private blocked = false;
  private over = false;

  constructor(private readonly hub: EventStreamHub) {}

  get isOver(): boolean {
    return this.over;
  }

  /** Bytes waiting for the socket. */
  get waitingBytes(): number {
    return this.queuedBytes;
  }

  start(sink: ApiStreamSink): void {
    if (this.over) {
      sink.end();
      return;
    }
    this.sink = sink;
    this.flush();
  }

  drained(): void {
    this.blocked = false;
    this.flush();
  }

  closed(): void {
    if (this.over) return;
    this.finish();
    this.hub.forget(this, 'client');
  }

  /** Sends `chunk` now, or queues it (bounded: past the limit the client is dropped). */
  send(chunk: string, bytes: number): void {
    if (this.over) return;
    if (this.sink !== undefined && !this.blocked && this.queue.length === 0) {
      this.blocked = !this.sink.write(chunk);
      return;
    }
    if (this.queuedBytes + bytes > this.hub.limits.maxQueuedBytes) {
      this.drop();
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += bytes;
  }

  /** Ends the stream cleanly (the peer stops). */
  end(): void {
    if (this.over) return;
    const sink = this.sink;
    this.finish();
    sink?.end();
  }

  private drop(): void {
    const sink = this.sink;
    this.finish();
    this.hub.forget(this, 'slow');
    // a stalled socket would hold its buffered bytes for ever: close it, do not wait for a flush
    sink?.destroy();
  }

  private finish(): void {
    this.over = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private flush(): void {
    const sink = this.sink;
    if (sink === undefined) return;
    while (!this.blocked && !this.over && this.queue.length > 0) {
      const chunk = this.queue.shift()!;
      this.queuedBytes -= Buffer.byteLength(chunk);
      this.blocked = !sink.write(chunk);
    }
  }
}

/** Every open stream of one peer: opens them (within the limit), broadcasts events, keeps them alive. */
export class EventStreamHub {
  readonly limits: EventStreamLimits;
  private readonly clients = new Set<StreamClient>();
  private heartbeat: TimerHandle | undefined;
  private seq = 0;
  private closedHub = false;
  readonly stats: EventStreamStats = { opened: 0, refused: 0, droppedSlow: 0, closedByClient: 0, eventsSent: 0, eventsTooLarge: 0 };

  constructor(
    private readonly deps: { clock: Clock },
    limits: Partial<EventStreamLimits> = {},
  ) {
    this.limits = { ...DEFAULT_EVENT_STREAM_LIMITS, ...limits };
  }

  /** Streams open now. */
  get clientCount(): number {
    return this.clients.size;
  }

  /**
   * A new stream, or why not: 'full' (maxClients open) or 'closed' (the peer stops). `first`: the
   * initial chunk to put in the reply's body (the reconnection delay).
   */
  open(): { ok: true; stream: ApiStream; first: string } | { ok: false; reason: 'full' | 'closed' } {
    if (this.closedHub || this.clients.size >= this.limits.maxClients) {
      this.stats.refused++;
      return { ok: false, reason: this.closedHub ? 'closed' : 'full' };
    }
    const c = new StreamClient(this);
    this.clients.add(c);
    this.stats.opened++;
    this.heartbeat ??= this.deps.clock.setTimer(this.limits.heartbeatMs, () => this.beat());
    return { ok: true, stream: c, first: `retry: ${this.limits.retryMs}\n\n` };
  }

  /** Sends one event to every open stream (an `id` counts the events of this hub). */
  publish(name: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const text = formatSseEvent(name, data, ++this.seq);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.limits.maxEventBytes) {
      this.stats.eventsTooLarge++;
      return;
    }
    for (const c of [...this.clients]) {
      c.send(text, bytes);
      if (!c.isOver) this.stats.eventsSent++;
    }
  }

  /** Ends every stream and refuses new ones (the peer stops). */
  close(): void {
    this.closedHub = true;
    this.heartbeat?.cancel();
    this.heartbeat = undefined;
    const all = [...this.clients];
    this.clients.clear();
    for (const c of all) c.end();
  }

  /** A client is over (it left, or it was too slow). */
  forget(c: StreamClient, why: 'client' | 'slow'): void {
    if (!this.clients.delete(c)) return;
    if (why === 'slow') this.stats.droppedSlow++;
    else this.stats.closedByClient++;
    if (this.clients.size === 0) {
      this.heartbeat?.cancel();
      this.heartbeat = undefined;
    }
  }

  private beat(): void {
    this.heartbeat = undefined;
    if (this.closedHub || this.clients.size === 0) return;
    const bytes = Buffer.byteLength(SSE_HEARTBEAT);
    for (const c of [...this.clients]) c.send(SSE_HEARTBEAT, bytes);
    if (this.clients.size > 0) this.heartbeat = this.deps.clock.setTimer(this.limits.heartbeatMs, () => this.beat());
  }
}

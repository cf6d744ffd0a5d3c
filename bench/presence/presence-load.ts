/**
 * The presence load generator of `npm run bench -- presence`: raw SIP over UDP from this process,
 * the same against the overlay's peers and against Kamailio. One UDP socket per lane
 * (presence-layout.ts); its watchers share it (distinct From users, Call-IDs, tags, and Contacts
 * with the user part), and so do the presentities that publish through it.
 *
 * - Requests (SUBSCRIBE, PUBLISH) are retransmitted like a UDP client transaction (RFC 3261
 *   §17.1.2.2: T1 = 500 ms doubling up to T2 = 4 s) until a final response, or fail with 408 after
 *   `transactionTimeoutMs`.
 * - A presentity's PUBLISHes go one at a time: each modifies the publication the last 200 named
 *   (SIP-If-Match, RFC 3903 §4.4); after a 412 the next is an initial publication again.
 * - Every NOTIFY is answered 200 at once (a peer sends the next NOTIFY of a subscription only
 *   after the answer to the last). Per watcher: its first NOTIFY, the state (sequence number of
 *   the PIDF note, presence-sip.ts) of the NOTIFY with the highest CSeq — what a phone shows, RFC
 *   3261 §12.2.2 —, the highest sequence number seen, and an armed probe: when the first NOTIFY
 *   carrying at least a given number arrived.
 * Times come from performance.now() (monotonic, sub-millisecond) when the datagram is handed to us.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { presentityLane, presentityUser, watcherLane, watcherPresentity, watchersOf, watcherUser, type PresenceLayout } from './presence-layout.js';
import { cseqOf, headerOf, okResponse, parseSip, publishRequest, readSeq, subscribeRequest, type HostPort, type SipText } from './presence-sip.js';
import type { WatcherLatency } from './presence-stats.js';

export interface PresenceLoadOptions {
  readonly layout: PresenceLayout;
  /** Where each lane's requests go (index = lane). */
  readonly targets: readonly HostPort[];
  readonly domain: string;
  /** Expires of the SUBSCRIBEs and PUBLISHes, s (longer than the run: nothing is refreshed). */
  readonly subscribeExpiresS: number;
  readonly publishExpiresS: number;
  /** A request without a final answer after this long fails (408). */
  readonly transactionTimeoutMs: number;
  /** SO_RCVBUF / SO_SNDBUF asked for each socket (the kernel caps it at net.core.rmem_max / wmem_max). */
  readonly socketBufferBytes: number;
}

export interface TxResult {
  /** Final status; 408 when none came in time. */
  readonly status: number;
  /** performance.now() when the request was first sent. */
  readonly sentAt: number;
  /** ms from the first send to the final response. */
  readonly ms: number;
  readonly response: SipText | undefined;
}

export interface PublishResult extends TxResult {
  readonly presentity: number;
  readonly seq: number;
}

interface PendingTx {
  readonly text: string;
  readonly lane: number;
  readonly sentAt: number;
  interval: number;
  retrans: NodeJS.Timeout | undefined;
  deadline: NodeJS.Timeout | undefined;
  readonly resolve: (r: TxResult) => void;
}

const T1_MS = 500;
const T2_MS = 4000;

/** Counters of everything received (totals since the generator opened). */
export interface LoadCounters {
  /** NOTIFY datagrams received (retransmissions included). */
  notifies: number;
  /** NOTIFYs with a CSeq above the highest of their subscription so far (new, in order). */
  notifiesInOrder: number;
  /** NOTIFYs of a Call-ID none of our subscriptions has. */
  notifiesUnknown: number;
  /** NOTIFYs saying Subscription-State: terminated. */
  notifiesTerminated: number;
  /** PUBLISHes answered 200. */
  publishOk: number;
  /** Datagrams that were not SIP, or responses to no transaction of ours (late retransmissions). */
  stray: number;
  /** Requests retransmitted (no answer within T1…). */
  retransmissions: number;
}

export class PresenceLoad {
  readonly counters: LoadCounters = { notifies: 0, notifiesInOrder: 0, notifiesUnknown: 0, notifiesTerminated: 0, publishOk: 0, stray: 0, retransmissions: 0 };
  /** performance.now() of each watcher's first NOTIFY (NaN: none yet). */
  readonly firstNotifyAt: Float64Array;
  /** The state (sequence number, -1: a NOTIFY without one) of each watcher's NOTIFY with the highest CSeq (NaN: none yet). */
  readonly shownSeq: Float64Array;
  /** Highest sequence number each watcher has seen (-1: none). */
  readonly maxSeq: Float64Array;
  /** Per presentity: the sequence number of its last PUBLISH answered 200 (-1: none), and whether one is in flight. */
  readonly lastOkSeq: Float64Array;
  readonly busy: Uint8Array;

  private readonly topCseq: Float64Array;
  private readonly probeSeq: Float64Array;
  private readonly probeMs: Float64Array;
  private readonly probeT0: Float64Array;
  private readonly nextSeq: Float64Array;
  private readonly etags: Array<string | undefined>;
  private readonly pubCseq: Float64Array;
  private readonly byCallId = new Map<string, number>();
  private readonly pending = new Map<string, PendingTx>();
  private readonly runTag = randomBytes(4).toString('hex');
  private branchNo = 0;
  private closed = false;

  private constructor(
    private readonly o: PresenceLoadOptions,
    private readonly sockets: readonly Socket[],
    private readonly locals: readonly HostPort[],
  ) {
    const { watchers, presentities } = o.layout;
    this.firstNotifyAt = new Float64Array(watchers).fill(NaN);
    this.shownSeq = new Float64Array(watchers).fill(NaN);
    this.maxSeq = new Float64Array(watchers).fill(-1);
    this.topCseq = new Float64Array(watchers).fill(-1);
    this.probeSeq = new Float64Array(watchers).fill(NaN);
    this.probeMs = new Float64Array(watchers).fill(NaN);
    this.lastOkSeq = new Float64Array(presentities).fill(-1);
    this.busy = new Uint8Array(presentities);
    this.probeT0 = new Float64Array(presentities).fill(NaN);
    this.nextSeq = new Float64Array(presentities);
    this.pubCseq = new Float64Array(presentities);
    this.etags = new Array<string | undefined>(presentities).fill(undefined);
    for (let k = 0; k < watchers; k++) this.byCallId.set(this.watcherCallId(k), k);
    sockets.forEach((s, lane) => s.on('message', (buf, rinfo) => this.onDatagram(lane, buf, rinfo)));
  }

  /** Binds one socket per lane on 127.0.0.1. */
  static async open(o: PresenceLoadOptions): Promise<PresenceLoad> {
    if (o.targets.length !== o.layout.lanes) throw new RangeError(`${o.layout.lanes} lanes need as many targets, not ${o.targets.length}`);
    const sockets: Socket[] = [];
    const locals: HostPort[] = [];
    try {
      for (let i = 0; i < o.layout.lanes; i++) {
        const s = createSocket({ type: 'udp4', recvBufferSize: o.socketBufferBytes, sendBufferSize: o.socketBufferBytes });
        sockets.push(s);
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.bind(0, '127.0.0.1', () => {
            s.off('error', reject);
            resolve();
          });
        });
        s.on('error', () => undefined);
        locals.push({ host: '127.0.0.1', port: s.address().port });
      }
    } catch (err) {
      for (const s of sockets) s.close();
      throw err;
    }
    return new PresenceLoad(o, sockets, locals);
  }

  /** The kernel's receive buffer size of the first socket (what SO_RCVBUF became), bytes. */
  receiveBufferBytes(): number {
    return this.sockets[0]?.getRecvBufferSize() ?? 0;
  }

  /** One PUBLISH of presentity j with the next sequence number; rejects nothing (408 on timeout). */
  publish(j: number, onSent?: (seq: number, sentAt: number) => void): Promise<PublishResult> {
    if (this.busy[j] === 1) throw new Error(`presentity ${j} has a PUBLISH in flight`);
    this.busy[j] = 1;
    const seq = this.nextSeq[j]!;
    this.nextSeq[j] = seq + 1;
    const cseq = (this.pubCseq[j] = this.pubCseq[j]! + 1);
    const lane = presentityLane(this.o.layout, j);
    const text = publishRequest({
      presentity: presentityUser(j),
      domain: this.o.domain,
      local: this.locals[lane]!,
      callId: `p${j}.${this.runTag}`,
      fromTag: `p${j}${this.runTag}`,
      branch: this.branch(),
      cseq,
      expires: this.o.publishExpiresS,
      etag: this.etags[j],
      seq,
    });
    const tx = this.request(text, lane, `p${j}.${this.runTag}`, cseq, 'PUBLISH');
    onSent?.(seq, tx.sentAt);
    return tx.result.then((r) => {
      this.busy[j] = 0;
      if (r.status === 200) {
        this.counters.publishOk++;
        if (seq > this.lastOkSeq[j]!) this.lastOkSeq[j] = seq;
        const etag = r.response === undefined ? undefined : headerOf(r.response, 'sip-etag');
        this.etags[j] = etag;
      } else if (r.status === 412) this.etags[j] = undefined;
      return { ...r, presentity: j, seq };
    });
  }

  /**
   * A fan-out probe: publishes presentity j's next state and times, for each of its watchers, the
   * first NOTIFY that carries it. Resolves once all are reached or `timeoutMs` after the send.
   */
  async probe(j: number, timeoutMs: number, samePeerMeaningful: boolean): Promise<{ publish: PublishResult; latencies: WatcherLatency[] }> {
    const ws = watchersOf(this.o.layout, j);
    for (const k of ws) this.probeMs[k] = NaN;
    const published = this.publish(j, (seq, sentAt) => {
      this.probeT0[j] = sentAt;
      for (const k of ws) this.probeSeq[k] = seq;
    });
    const allReached = (): boolean => ws.every((k) => !Number.isNaN(this.probeMs[k]!));
    const publish = await published;
    if (publish.status === 200) await this.until(allReached, Math.max(0, timeoutMs - (performance.now() - publish.sentAt)));
    const lane = presentityLane(this.o.layout, j);
    const latencies = ws.map((k) => {
      const ms = this.probeMs[k]!;
      this.probeSeq[k] = NaN;
      return { samePeer: samePeerMeaningful && watcherLane(this.o.layout, k) === lane, ms: Number.isNaN(ms) ? undefined : ms };
    });
    return { publish, latencies };
  }

  /** SUBSCRIBEs every watcher, `ratePerS` at most; resolves with each final status (index = watcher). */
  async subscribeAll(ratePerS: number): Promise<number[]> {
    const { watchers } = this.o.layout;
    const results: Array<Promise<TxResult>> = [];
    const start = performance.now();
    for (let k = 0; k < watchers; k++) {
      const wait = start + (k * 1000) / ratePerS - performance.now();
      if (wait > 1) await sleep(wait);
      const lane = watcherLane(this.o.layout, k);
      const callId = this.watcherCallId(k);
      const text = subscribeRequest({
        watcher: watcherUser(k),
        presentity: presentityUser(watcherPresentity(this.o.layout, k)),
        domain: this.o.domain,
        local: this.locals[lane]!,
        callId,
        fromTag: `w${k}${this.runTag}`,
        branch: this.branch(),
        cseq: 1,
        expires: this.o.subscribeExpiresS,
      });
      results.push(this.request(text, lane, callId, 1, 'SUBSCRIBE').result);
    }
    return (await Promise.all(results)).map((r) => r.status);
  }

  /** Polls `done` every 20 ms until it holds or `timeoutMs` passed; resolves with whether it held. */
  async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (done()) return true;
      if (performance.now() >= deadline) return false;
      await sleep(Math.min(20, deadline - performance.now()));
    }
  }

  /** Watchers whose shown state is their presentity's last state answered 200. */
  convergedCount(): number {
    let n = 0;
    for (let k = 0; k < this.o.layout.watchers; k++) {
      if (this.shownSeq[k] === this.lastOkSeq[watcherPresentity(this.o.layout, k)]) n++;
    }
    return n;
  }

  /** Watchers that have had a NOTIFY. */
  notifiedCount(): number {
    let n = 0;
    for (const t of this.firstNotifyAt) if (!Number.isNaN(t)) n++;
    return n;
  }

  /** Requests still waiting for an answer. */
  inFlight(): number {
    return this.pending.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.retrans);
      clearTimeout(p.deadline);
      p.resolve({ status: 408, sentAt: p.sentAt, ms: performance.now() - p.sentAt, response: undefined });
    }
    this.pending.clear();
    for (const s of this.sockets) s.close();
  }

  private watcherCallId(k: number): string {
    return `w${k}.${this.runTag}`;
  }

  private branch(): string {
    return `z9hG4bK${this.runTag}${(++this.branchNo).toString(36)}`;
  }

  private request(text: string, lane: number, callId: string, cseq: number, method: string): { sentAt: number; result: Promise<TxResult> } {
    const key = `${callId}\n${cseq}\n${method}`;
    const target = this.o.targets[lane]!;
    const socket = this.sockets[lane]!;
    const send = (): void => {
      if (!this.closed) socket.send(text, target.port, target.host);
    };
    let tx: PendingTx | undefined;
    const result = new Promise<TxResult>((resolve) => {
      const sentAt = performance.now();
      tx = { text, lane, sentAt, interval: T1_MS, retrans: undefined, deadline: undefined, resolve };
      const p = tx;
      const again = (): void => {
        p.retrans = setTimeout(() => {
          this.counters.retransmissions++;
          send();
          p.interval = Math.min(p.interval * 2, T2_MS);
          again();
        }, p.interval);
      };
      p.deadline = setTimeout(() => {
        clearTimeout(p.retrans);
        this.pending.delete(key);
        resolve({ status: 408, sentAt, ms: performance.now() - sentAt, response: undefined });
      }, this.o.transactionTimeoutMs);
      this.pending.set(key, p);
      send();
      again();
    });
    return { sentAt: tx!.sentAt, result };
  }

  private onDatagram(lane: number, buf: Buffer, rinfo: RemoteInfo): void {
    const now = performance.now();
    const m = parseSip(buf.toString('utf8'));
    if (m === undefined) {
      this.counters.stray++;
      return;
    }
    if (m.status !== undefined) return this.onResponse(m, now);
    if (m.method !== 'NOTIFY') {
      this.counters.stray++;
      return;
    }
    this.sockets[lane]!.send(okResponse(m), rinfo.port, rinfo.address);
    this.counters.notifies++;
    const k = this.byCallId.get(headerOf(m, 'call-id') ?? '');
    if (k === undefined) {
      this.counters.notifiesUnknown++;
      return;
    }
    if (/^\s*terminated/i.test(headerOf(m, 'subscription-state') ?? '')) this.counters.notifiesTerminated++;
    const seq = readSeq(m.body) ?? -1;
    const cseq = cseqOf(m)?.seq ?? -1;
    if (Number.isNaN(this.firstNotifyAt[k]!)) this.firstNotifyAt[k] = now;
    if (cseq > this.topCseq[k]!) {
      this.topCseq[k] = cseq;
      this.shownSeq[k] = seq;
      this.counters.notifiesInOrder++;
    }
    if (seq > this.maxSeq[k]!) this.maxSeq[k] = seq;
    const want = this.probeSeq[k]!;
    if (seq >= want && Number.isNaN(this.probeMs[k]!)) {
      this.probeMs[k] = now - this.probeT0[watcherPresentity(this.o.layout, k)]!;
    }
  }

  private onResponse(m: SipText, now: number): void {
    const cs = cseqOf(m);
    const key = `${headerOf(m, 'call-id') ?? ''}\n${cs?.seq ?? ''}\n${cs?.method ?? ''}`;
    const p = this.pending.get(key);
    if (p === undefined) {
      this.counters.stray++;
      return;
    }
    if (m.status! < 200) return;
    clearTimeout(p.retrans);
    clearTimeout(p.deadline);
    this.pending.delete(key);
    p.resolve({ status: m.status!, sentAt: p.sentAt, ms: now - p.sentAt, response: m });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

/**
 * A minimal UDP user agent for interop tests and the calls benchmark: it REGISTERs, places
 * calls that it completes (INVITE, ACK along the route set, BYE — RFC 3261 §12.1.2, §13.2.2.4,
 * §15), sends MESSAGE, and answers what it receives (180 then 200 to INVITE, 200 to BYE,
 * MESSAGE, OPTIONS). It timestamps INVITE → first 180 and INVITE → 200 with a monotonic clock,
 * finer than SIPp's ~4 ms timer. Requests are retransmitted (T1 = 500 ms, doubling) until a
 * response arrives; as a UAS it retransmits its 2xx to an INVITE until the ACK (or a BYE) comes
 * (§13.3.1.4: T1 doubling up to T2, for 64·T1), and as a UAC it answers a retransmitted 2xx with
 * its ACK again (§13.2.2.4) — as real phones do, so a lost 200 or ACK costs time, not the call.
 * Every wait is bounded. Memory: a dialog is forgotten when its call ends; at most `MAX_LOG`
 * received requests and `MAX_ANSWERING` unacknowledged 2xx are kept.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface CallResult {
  /** Final status of the INVITE. */
  readonly status: number;
  /** ms from sending the INVITE to the first 180 (undefined if none came). */
  readonly ringMs: number | undefined;
  /** ms from sending the INVITE to its final response. */
  readonly finalMs: number;
  /** Final status of the BYE (only after a 2xx). */
  readonly byeStatus: number | undefined;
  /** Status lines of the INVITE's and the BYE's final responses (for messages). */
  readonly finalLine: string;
  readonly byeLine: string | undefined;
  /** The 2xx's Record-Route values (top first), for checks. */
  readonly recordRoute: readonly string[];
}

interface Pending {
  readonly callId: string;
  readonly cseq: string;
  readonly onResponse: (text: string, at: number) => void;
  timer: NodeJS.Timeout | undefined;
}

const T1_MS = 500;
const T2_MS = 4_000;
const MAX_LOG = 1000;
/** INVITEs answered with a 2xx not yet acknowledged (their retransmission timers). */
const MAX_ANSWERING = 1000;

/** A 2xx we sent and retransmit until its ACK (§13.3.1.4). */
interface Answering {
  timer: NodeJS.Timeout;
}

export class DialogPhone {
  /** Requests received (start lines and texts), most recent last, at most MAX_LOG. */
  readonly received: string[] = [];
  private readonly pending = new Map<string, Pending>();
  /** Call-ID → our 2xx being retransmitted until the ACK. */
  private readonly answering = new Map<string, Answering>();
  /** Call-ID → the ACK of a call of ours, sent again when its 2xx is retransmitted (until the BYE ends). */
  private readonly acks = new Map<string, { text: string; to: HostPort }>();
  private seq = 0;
  private readonly tag: string;

  private constructor(
    readonly user: string,
    /** Domain of this phone's AoR (the registrar's domain). */
    readonly domain: string,
    /** Outbound proxy: every request out of dialog goes there. */
    readonly proxy: HostPort,
    private readonly socket: Socket,
    readonly port: number,
    /** The address the phone is bound to (loopback, or a host of the NAT lab). */
    readonly host: string = '127.0.0.1',
  ) {
    this.tag = `${user}${port}`;
    socket.on('message', (buf, rinfo) => this.onDatagram(buf.toString('latin1'), rinfo));
  }

  static open(user: string, domain: string, proxy: HostPort, bindHost = '127.0.0.1'): Promise<DialogPhone> {
    const socket = createSocket('udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, bindHost, () => {
        socket.off('error', reject);
        resolve(new DialogPhone(user, domain, proxy, socket, socket.address().port, bindHost));
      });
    });
  }

  get aor(): string {
    return `sip:${this.user}@${this.domain}`;
  }

  get contact(): string {
    return `sip:${this.user}@${this.host}:${this.port}`;
  }

  /** REGISTER at the proxy; resolves with the final status. */
  async register(expiresS = 600, timeoutMs = 10_000): Promise<number> {
    const callId = `reg-${this.tag}`;
    const text = this.request('REGISTER', `sip:${this.domain}`, callId, { to: `<${this.aor}>`, extra: [`Expires: ${expiresS}`] });
    const r = await this.transaction(text, callId, 'REGISTER', this.proxy, timeoutMs);
    return r.status;
  }

  /** Sends a MESSAGE out of dialog; resolves with the final status. */
  async message(target: string, body: string, timeoutMs = 10_000): Promise<number> {
    const callId = `msg-${this.tag}-${++this.seq}`;
    const text = this.request('MESSAGE', target, callId, { to: `<${target}>`, body, contentType: 'text/plain' });
    return (await this.transaction(text, callId, 'MESSAGE', this.proxy, timeoutMs)).status;
  }

  /**
   * A whole call to `target`: INVITE through the proxy, then on a 2xx ACK and BYE along the
   * route set (the 2xx's Record-Route reversed) to the callee's Contact.
   */
  async call(target: string, timeoutMs = 10_000): Promise<CallResult> {
    const callId = `call-${this.tag}-${++this.seq}-${Math.round(performance.now())}`;
    const fromTag = `${this.tag}c${this.seq}`;
    const branch = this.branch();
    const invite = this.request('INVITE', target, callId, { to: `<${target}>`, fromTag, branch, cseq: 1 });
    const sentAt = performance.now();
    let ringAt: number | undefined;
    const final = await this.transaction(invite, callId, 'INVITE', this.proxy, timeoutMs, (status, at) => {
      if (status === 180 && ringAt === undefined) ringAt = at;
    });
    const finalMs = final.at - sentAt;
    const ringMs = ringAt === undefined ? undefined : ringAt - sentAt;
    const toHeader = header(final.text, 'to', 't') ?? `<${target}>`;
    if (final.status >= 300 || final.status < 200) {
      // §17.1.1.3: the ACK of a non-2xx final response, same branch, hop by hop.
      this.send(this.request('ACK', target, callId, { to: toHeader, fromTag, branch, cseq: 1, method: 'ACK' }), this.proxy);
      return { status: final.status, ringMs, finalMs, byeStatus: undefined, recordRoute: [], finalLine: statusLine(final.text), byeLine: undefined };
    }
    const recordRoute = headers(final.text, 'record-route').flatMap(splitList);
    const routes = [...recordRoute].reverse();
    const remote = /<([^>]+)>/.exec(header(final.text, 'contact', 'm') ?? '')?.[1] ?? target;
    const nextHop = hostPort(routes[0] ?? `<${remote}>`) ?? this.proxy;
    const routeLines = routes.map((r) => `Route: ${r}`);
    const ack = this.request('ACK', remote, callId, { to: toHeader, fromTag, cseq: 1, method: 'ACK', extra: routeLines });
    this.send(ack, nextHop);
    this.acks.set(callId, { text: ack, to: nextHop });
    const bye = this.request('BYE', remote, callId, { to: toHeader, fromTag, cseq: 2, extra: routeLines });
    const byeFinal = await this.transaction(bye, callId, 'BYE', nextHop, timeoutMs).finally(() => this.acks.delete(callId));
    return { status: final.status, ringMs, finalMs, byeStatus: byeFinal.status, recordRoute, finalLine: statusLine(final.text), byeLine: statusLine(byeFinal.text) };
  }

  /** Waits for a received request of `method` (already received or future), bounded. */
  async waitRequest(method: string, timeoutMs = 10_000, match: (text: string) => boolean = () => true): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.find((m) => m.startsWith(`${method} `) && match(m));
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) throw new Error(`${this.user}: no ${method} within ${timeoutMs} ms; received: ${this.received.map((m) => m.split('\r\n')[0]).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    for (const a of this.answering.values()) clearTimeout(a.timer);
    this.answering.clear();
    this.acks.clear();
    this.socket.close();
  }

  private branch(): string {
    return `z9hG4bK${this.tag}b${++this.seq}`;
  }

  private request(
    method: string,
    ruri: string,
    callId: string,
    o: { to: string; fromTag?: string; branch?: string; cseq?: number; method?: string; extra?: readonly string[]; body?: string; contentType?: string },
  ): string {
    const body = o.body ?? '';
    return [
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.host}:${this.port};branch=${o.branch ?? this.branch()};rport`,
      'Max-Forwards: 70',
      `From: <${this.aor}>;tag=${o.fromTag ?? `${this.tag}f${this.seq}`}`,
      `To: ${o.to}`,
      `Call-ID: ${callId}`,
      `CSeq: ${o.cseq ?? ++this.seq} ${o.method ?? method}`,
      `Contact: <${this.contact}>`,
      ...(o.extra ?? []),
      ...(body === '' ? [] : [`Content-Type: ${o.contentType ?? 'text/plain'}`]),
      `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
      '',
      body,
    ].join('\r\n');
  }

  /** Sends a request, retransmits it until a response arrives, resolves with the final one. */
  private transaction(
    text: string,
    callId: string,
    method: string,
    to: HostPort,
    timeoutMs: number,
    onProvisional?: (status: number, at: number) => void,
  ): Promise<{ status: number; text: string; at: number }> {
    const cseq = /^CSeq: (\d+) /m.exec(text)?.[1] ?? '';
    const key = `${callId}|${cseq}|${method}`;
    return new Promise((resolve, reject) => {
      let interval = T1_MS;
      let answered = false;
      const p: Pending = {
        callId,
        cseq,
        timer: undefined,
        onResponse: (resp, at) => {
          const status = Number(resp.slice(8, 11));
          answered = true;
          if (status < 200) {
            onProvisional?.(status, at);
            return;
          }
          clearTimeout(p.timer);
          clearTimeout(guard);
          this.pending.delete(key);
          resolve({ status, text: resp, at });
        },
      };
      const retransmit = (): void => {
        if (answered) return;
        this.send(text, to);
        interval = Math.min(interval * 2, 4000);
        p.timer = setTimeout(retransmit, interval);
      };
      const guard = setTimeout(() => {
        clearTimeout(p.timer);
        this.pending.delete(key);
        reject(new Error(`${this.user}: no final response to ${method} ${callId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(key, p);
      this.send(text, to);
      p.timer = setTimeout(retransmit, interval);
    });
  }

  private send(text: string, to: HostPort): void {
    this.socket.send(Buffer.from(text, 'latin1'), to.port, to.host);
  }

  private onDatagram(text: string, rinfo: RemoteInfo): void {
    const at = performance.now();
    if (text.startsWith('SIP/2.0 ')) {
      const callId = header(text, 'call-id', 'i') ?? '';
      const cseq = /^(\d+)\s+(\S+)/.exec(header(text, 'cseq') ?? '');
      if (cseq === null) return;
      const p = this.pending.get(`${callId}|${cseq[1]}|${cseq[2]}`);
      if (p !== undefined) p.onResponse(text, at);
      else if (cseq[2] === 'INVITE' && text.startsWith('SIP/2.0 2')) {
        // §13.2.2.4: a retransmitted 2xx (our ACK was lost) gets the ACK again
        const ack = this.acks.get(callId);
        if (ack !== undefined) this.send(ack.text, ack.to);
      }
      return;
    }
    const method = /^([A-Z]+) /.exec(text)?.[1];
    if (method === undefined) return;
    if (this.received.length >= MAX_LOG) this.received.shift();
    this.received.push(text);
    const back = { host: rinfo.address, port: rinfo.port };
    const callId = header(text, 'call-id', 'i') ?? '';
    if (method === 'ACK' || method === 'BYE') this.stopAnswering(callId);
    if (method === 'ACK') return;
    if (method === 'INVITE') {
      this.send(this.response(text, 180, 'Ringing'), back);
      const ok = this.response(text, 200, 'OK');
      this.send(ok, back);
      if (!this.answering.has(callId) && this.answering.size < MAX_ANSWERING) this.retransmitUntilAck(callId, ok, back);
      return;
    }
    this.send(this.response(text, 200, 'OK'), back);
  }

  /** §13.3.1.4: the 2xx again at T1, 2·T1, … (at most T2 apart) until the ACK, for 64·T1. */
  private retransmitUntilAck(callId: string, ok: string, to: HostPort): void {
    const deadline = performance.now() + 64 * T1_MS;
    let interval = T1_MS;
    const again = (): void => {
      if (performance.now() >= deadline) {
        this.answering.delete(callId);
        return;
      }
      this.send(ok, to);
      interval = Math.min(interval * 2, T2_MS);
      entry.timer = setTimeout(again, interval);
    };
    const entry: Answering = { timer: setTimeout(again, interval) };
    this.answering.set(callId, entry);
  }

  private stopAnswering(callId: string): void {
    const a = this.answering.get(callId);
    if (a === undefined) return;
    clearTimeout(a.timer);
    this.answering.delete(callId);
  }

  /** §8.2.6: a response to a received request (Record-Route copied for dialog-creating responses). */
  private response(req: string, status: number, reason: string): string {
    const lines = req.split('\r\n\r\n')[0]?.split('\r\n') ?? [];
    const pick = (...names: string[]): string[] =>
      lines.filter((l) => names.some((n) => new RegExp(`^${n}\\s*:`, 'i').test(l)));
    const isInvite = req.startsWith('INVITE ');
    const to = pick('to', 't').map((t) => (/;tag=/i.test(t) ? t : `${t};tag=${this.tag}u`));
    return [
      `SIP/2.0 ${status} ${reason}`,
      ...pick('via', 'v'),
      ...(isInvite ? pick('record-route') : []),
      ...pick('from', 'f'),
      ...to,
      ...pick('call-id', 'i'),
      ...pick('cseq'),
      ...(isInvite ? [`Contact: <${this.contact}>`] : []),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }
}

function statusLine(text: string): string {
  return text.split('\r\n')[0] ?? '';
}

/** The first value of a header (full or compact name) in a message's head. */
function header(text: string, name: string, compact?: string): string | undefined {
  return headers(text, name, compact)[0];
}

function headers(text: string, name: string, compact?: string): string[] {
  const head = text.split('\r\n\r\n')[0] ?? '';
  const names = compact === undefined ? name : `(?:${name}|${compact})`;
  const re = new RegExp(`^${names}[ \\t]*:[ \\t]*(.*)$`, 'gim');
  return [...head.matchAll(re)].map((m) => (m[1] ?? '').trim());
}

/** Splits a header value list at commas outside <> and quotes. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '<') depth++;
    else if (!quoted && c === '>') depth--;
    else if (!quoted && depth === 0 && c === ',') {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last !== '') out.push(last);
  return out;
}

/** host:port of a `<sip:...>` (or bare) URI with a numeric IPv4 host; undefined otherwise. */
function hostPort(nameAddr: string): HostPort | undefined {
  const m = /sips?:(?:[^@>;]*@)?(\d+\.\d+\.\d+\.\d+)(?::(\d+))?/.exec(nameAddr);
  if (m === null) return undefined;
  return { host: m[1] ?? '127.0.0.1', port: m[2] === undefined ? 5060 : Number(m[2]) };
}

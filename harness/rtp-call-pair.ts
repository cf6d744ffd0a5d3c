/**
 * Two UDP phones for media tests and the media benchmark: a caller and a callee, both REGISTERed at one
 * SIP proxy (a p2psip peer's SIP front), that set up many concurrent calls caller → callee with an SDP
 * offer and answer each (RFC 3264), and hang them all up at the end. Each call says which RTP address
 * the caller's and the callee's media go to: the SDP that reached each phone (the peer's relay ports
 * when it relays media). RFC 3261: INVITE retransmitted on Timer A until a response (§17.1.1.2), the 2xx
 * answered by an ACK along the route set and again for each retransmitted 2xx (§13.2.2.4), the UAS's
 * 2xx retransmitted until the ACK (§13.3.1.4), BYE along the route set (§15). Every wait is bounded.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { audioAddress, audioSdp, type MediaAddress } from './rtp-sdp.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface CallPairOptions {
  /** The proxy (outbound proxy and registrar) of both phones. */
  readonly proxy: HostPort;
  /** Domain of both AoRs (the overlay's name). */
  readonly domain: string;
  readonly caller?: string;
  readonly callee?: string;
  /** Bound on each transaction. Default 16 s. */
  readonly transactionTimeoutMs?: number;
}

/** The RTP addresses the two phones of a call announce (their own). */
export interface CallMedia {
  readonly caller: HostPort;
  readonly callee: HostPort;
}

export interface EstablishedCall {
  readonly index: number;
  readonly callId: string;
  /** Where the caller sends its RTP: the c=/m= of the 200's SDP. */
  readonly callerSendsTo: MediaAddress;
  /** Where the callee sends its RTP: the c=/m= of the INVITE's SDP as it arrived. */
  readonly calleeSendsTo: MediaAddress;
  /** INVITE sent → 200 received, ms. */
  readonly setupMs: number;
}

export class CallSetupError extends Error {
  readonly code = 'CALL_SETUP_FAILED';
}

interface Msg {
  readonly first: string;
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: string;
  readonly raw: string;
}

interface Dialog {
  readonly index: number;
  readonly callId: string;
  readonly fromTag: string;
  readonly media: CallMedia;
  inviteBranch: string;
  toHeader?: string;
  routes: string[];
  remoteTarget?: string;
  nextHop?: HostPort;
  ack?: string;
  calleeSendsTo?: MediaAddress;
  /** The callee's 200 and its retransmission timer. */
  uas200?: { text: string; to: HostPort; timer: NodeJS.Timeout | undefined; tries: number };
}

interface Txn {
  readonly resolve: (m: Msg) => void;
  readonly onProvisional?: (m: Msg) => void;
  retransmit: NodeJS.Timeout | undefined;
}

const T1 = 500;
const T2 = 4000;
const COMPACT: Readonly<Record<string, string>> = { v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type' };

export class RtpCallPair {
  readonly #dialogs = new Map<string, Dialog>();
  readonly #txns = new Map<string, Txn>();
  readonly #caller: Socket;
  readonly #callee: Socket;
  readonly #opts: CallPairOptions;
  readonly #tag = randomBytes(3).toString('hex');
  #seq = 0;
  /** Responses and requests we could not place (for diagnostics). */
  unmatched = 0;

  private constructor(opts: CallPairOptions, caller: Socket, callee: Socket) {
    this.#opts = opts;
    this.#caller = caller;
    this.#callee = callee;
    caller.on('message', (b, r) => this.#onCaller(parse(b.toString('latin1')), r));
    callee.on('message', (b, r) => this.#onCallee(parse(b.toString('latin1')), r));
  }

  static async open(opts: CallPairOptions): Promise<RtpCallPair> {
    const bind = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = createSocket('udp4');
        s.once('error', reject);
        s.bind(0, '127.0.0.1', () => {
          s.off('error', reject);
          s.on('error', () => undefined);
          resolve(s);
        });
      });
    return new RtpCallPair(opts, await bind(), await bind());
  }

  get callerUser(): string {
    return this.#opts.caller ?? 'caller';
  }

  get calleeUser(): string {
    return this.#opts.callee ?? 'callee';
  }

  get callerPort(): number {
    return this.#caller.address().port;
  }

  get calleePort(): number {
    return this.#callee.address().port;
  }

  /** REGISTERs both phones at the proxy (binding for `expiresS`); throws unless both get a 200. */
  async register(expiresS = 3600): Promise<void> {
    for (const [user, sock] of [[this.callerUser, this.#caller], [this.calleeUser, this.#callee]] as const) {
      const callId = `reg-${user}-${this.#tag}`;
      const aor = `sip:${user}@${this.#opts.domain}`;
      const branch = this.#branch();
      const text = request('REGISTER', `sip:${this.#opts.domain}`, [
        via(sock, branch),
        'Max-Forwards: 70',
        `From: <${aor}>;tag=r${this.#tag}`,
        `To: <${aor}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 REGISTER',
        `Contact: <sip:${user}@127.0.0.1:${sock.address().port}>`,
        `Expires: ${expiresS}`,
      ]);
      const final = await this.#transaction(sock, text, branch, this.#opts.proxy);
      const status = statusOf(final);
      if (status !== 200) throw new CallSetupError(`REGISTER ${aor}: ${final.first}`);
    }
  }

  /**
   * Sets up one call per entry of `media` (caller → callee, at most `concurrency` INVITEs outstanding)
   * and resolves with every call once all are answered; throws on the first call that fails.
   */
  async establish(media: readonly CallMedia[], concurrency = 50): Promise<EstablishedCall[]> {
    const out: EstablishedCall[] = new Array<EstablishedCall>(media.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= media.length) return;
        const m = media[i];
        if (m === undefined) return;
        out[i] = await this.#call(i, m);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, media.length)) }, worker));
    return out;
  }

  /** Sends BYE on every established call; resolves with how many got a 2xx and how many did not. */
  async hangUpAll(concurrency = 50): Promise<{ readonly ok: number; readonly failed: number }> {
    const dialogs = [...this.#dialogs.values()].filter((d) => d.remoteTarget !== undefined);
    let ok = 0;
    let failed = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const d = dialogs[next++];
        if (d === undefined) return;
        try {
          const branch = this.#branch();
          const bye = request('BYE', d.remoteTarget ?? '', [
            via(this.#caller, branch),
            'Max-Forwards: 70',
            `From: <sip:${this.callerUser}@${this.#opts.domain}>;tag=${d.fromTag}`,
            `To: ${d.toHeader ?? ''}`,
            `Call-ID: ${d.callId}`,
            'CSeq: 2 BYE',
            ...d.routes.map((r) => `Route: ${r}`),
          ]);
          const final = await this.#transaction(this.#caller, bye, branch, d.nextHop ?? this.#opts.proxy);
          if (statusOf(final) >= 200 && statusOf(final) < 300) ok++;
          else failed++;
        } catch {
          failed++;
        } finally {
          this.#forget(d);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, dialogs.length)) }, worker));
    return { ok, failed };
  }

  close(): void {
    for (const d of this.#dialogs.values()) this.#forget(d);
    for (const t of this.#txns.values()) if (t.retransmit !== undefined) clearTimeout(t.retransmit);
    this.#txns.clear();
    this.#caller.close();
    this.#callee.close();
  }

  async #call(index: number, media: CallMedia): Promise<EstablishedCall> {
    const callId = `media-${this.#tag}-${++this.#seq}`;
    const fromTag = `c${this.#tag}${this.#seq}`;
    const branch = this.#branch();
    const d: Dialog = { index, callId, fromTag, media, inviteBranch: branch, routes: [] };
    this.#dialogs.set(callId, d);
    const target = `sip:${this.calleeUser}@${this.#opts.domain}`;
    const invite = request(
      'INVITE',
      target,
      [
        via(this.#caller, branch),
        'Max-Forwards: 70',
        `From: <sip:${this.callerUser}@${this.#opts.domain}>;tag=${fromTag}`,
        `To: <${target}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 INVITE',
        `Contact: <sip:${this.callerUser}@127.0.0.1:${this.callerPort}>`,
        'Content-Type: application/sdp',
      ],
      audioSdp({ host: media.caller.host, port: media.caller.port, sessionId: 1000 + index, user: 'caller' }),
    );
    const sentAt = performance.now();
    const final = await this.#transaction(this.#caller, invite, branch, this.#opts.proxy);
    const setupMs = performance.now() - sentAt;
    const status = statusOf(final);
    if (status < 200 || status >= 300) {
      this.#forget(d);
      throw new CallSetupError(`call ${index} (${callId}): ${final.first}`);
    }
    const callerSendsTo = audioAddress(final.body);
    const calleeSendsTo = d.calleeSendsTo;
    if (callerSendsTo === undefined || calleeSendsTo === undefined) {
      throw new CallSetupError(`call ${index} (${callId}): no audio address in the ${callerSendsTo === undefined ? "200's" : "INVITE's"} SDP`);
    }
    return { index, callId, callerSendsTo, calleeSendsTo, setupMs };
  }

  /** Responses at the caller: the INVITE's and the BYE's; a 2xx of an INVITE is ACKed (again, if repeated). */
  #onCaller(m: Msg | undefined, _r: RemoteInfo): void {
    if (m === undefined || !m.first.startsWith('SIP/2.0 ')) return;
    const callId = one(m, 'call-id');
    const cseq = one(m, 'cseq') ?? '';
    const status = statusOf(m);
    const d = callId === undefined ? undefined : this.#dialogs.get(callId);
    if (/INVITE$/i.test(cseq) && status >= 200 && status < 300 && d !== undefined) {
      if (d.ack === undefined) this.#prepareAck(d, m);
      if (d.ack !== undefined && d.nextHop !== undefined) this.#caller.send(d.ack, d.nextHop.port, d.nextHop.host);
    } else if (/INVITE$/i.test(cseq) && status >= 300 && d !== undefined) {
      // §17.1.1.3: ACK of a non-2xx final, same branch, to the proxy
      const ack = request('ACK', `sip:${this.calleeUser}@${this.#opts.domain}`, [
        via(this.#caller, d.inviteBranch),
        'Max-Forwards: 70',
        `From: <sip:${this.callerUser}@${this.#opts.domain}>;tag=${d.fromTag}`,
        `To: ${one(m, 'to') ?? ''}`,
        `Call-ID: ${d.callId}`,
        'CSeq: 1 ACK',
      ]);
      this.#caller.send(ack, this.#opts.proxy.port, this.#opts.proxy.host);
    }
    this.#onResponse(m);
  }

  /** A response at either phone: to its client transaction (by the branch of its top Via). */
  #onResponse(m: Msg): void {
    const status = statusOf(m);
    const branch = /;branch=([^;,\s]+)/.exec(one(m, 'via') ?? '')?.[1];
    const t = branch === undefined ? undefined : this.#txns.get(branch);
    if (t === undefined) {
      this.unmatched++;
      return;
    }
    if (t.retransmit !== undefined) {
      clearTimeout(t.retransmit);
      t.retransmit = undefined;
    }
    if (status >= 200) {
      this.#txns.delete(branch ?? '');
      t.resolve(m);
    }
  }

  #prepareAck(d: Dialog, ok: Msg): void {
    const rr = (ok.headers.get('record-route') ?? []).flatMap(splitList);
    d.routes = [...rr].reverse();
    d.toHeader = one(ok, 'to');
    d.remoteTarget = /<([^>]+)>/.exec(one(ok, 'contact') ?? '')?.[1];
    const first = d.routes[0];
    d.nextHop = (first === undefined ? uriHostPort(d.remoteTarget ?? '') : uriHostPort(first)) ?? this.#opts.proxy;
    const branch = this.#branch();
    d.ack = request('ACK', d.remoteTarget ?? '', [
      via(this.#caller, branch),
      'Max-Forwards: 70',
      `From: <sip:${this.callerUser}@${this.#opts.domain}>;tag=${d.fromTag}`,
      `To: ${d.toHeader ?? ''}`,
      `Call-ID: ${d.callId}`,
      'CSeq: 1 ACK',
      ...d.routes.map((r) => `Route: ${r}`),
    ]);
  }

  /** Requests at the callee: INVITE → 200 with SDP (retransmitted until the ACK), ACK, BYE → 200. */
  #onCallee(m: Msg | undefined, r: RemoteInfo): void {
    if (m === undefined) return;
    if (m.first.startsWith('SIP/2.0 ')) {
      this.#onResponse(m); // its REGISTER's
      return;
    }
    const method = m.first.split(' ')[0] ?? '';
    const callId = one(m, 'call-id') ?? '';
    const d = this.#dialogs.get(callId);
    const from: HostPort = { host: r.address, port: r.port };
    if (method === 'INVITE') {
      if (d === undefined) {
        this.unmatched++;
        this.#callee.send(response(m, 481, 'Call/Transaction Does Not Exist', []), from.port, from.host);
        return;
      }
      if (d.uas200 !== undefined) {
        // a retransmitted INVITE: the same 200 again
        this.#callee.send(d.uas200.text, from.port, from.host);
        return;
      }
      d.calleeSendsTo = audioAddress(m.body);
      const toTag = `e${this.#tag}${d.index}`;
      const text = response(
        m,
        200,
        'OK',
        [`Contact: <sip:${this.calleeUser}@127.0.0.1:${this.calleePort}>`, 'Content-Type: application/sdp'],
        audioSdp({ host: d.media.callee.host, port: d.media.callee.port, sessionId: 2000 + d.index, user: 'callee' }),
        toTag,
      );
      const uas = { text, to: from, timer: undefined as NodeJS.Timeout | undefined, tries: 0 };
      d.uas200 = uas;
      const resend = (interval: number): void => {
        uas.timer = setTimeout(() => {
          if (++uas.tries > 7) return;
          this.#callee.send(text, from.port, from.host);
          resend(Math.min(interval * 2, T2));
        }, interval);
      };
      this.#callee.send(text, from.port, from.host);
      resend(T1);
    } else if (method === 'ACK') {
      if (d?.uas200?.timer !== undefined) clearTimeout(d.uas200.timer);
    } else if (method === 'BYE' || method === 'OPTIONS' || method === 'CANCEL') {
      if (d?.uas200?.timer !== undefined) clearTimeout(d.uas200.timer);
      this.#callee.send(response(m, 200, 'OK', []), from.port, from.host);
    }
  }

  /** Sends `text` (retransmitted T1, 2·T1, … up to T2) and resolves with its final response. */
  #transaction(sock: Socket, text: string, branch: string, to: HostPort): Promise<Msg> {
    const limit = this.#opts.transactionTimeoutMs ?? 16_000;
    return new Promise<Msg>((resolve, reject) => {
      const deadline = setTimeout(() => {
        const t = this.#txns.get(branch);
        if (t?.retransmit !== undefined) clearTimeout(t.retransmit);
        this.#txns.delete(branch);
        reject(new CallSetupError(`no final response within ${limit} ms to ${text.split('\r\n')[0] ?? ''}`));
      }, limit);
      const txn: Txn = {
        resolve: (m) => {
          clearTimeout(deadline);
          resolve(m);
        },
        retransmit: undefined,
      };
      const again = (interval: number): void => {
        txn.retransmit = setTimeout(() => {
          sock.send(text, to.port, to.host);
          again(Math.min(interval * 2, T2));
        }, interval);
      };
      this.#txns.set(branch, txn);
      sock.send(text, to.port, to.host);
      again(T1);
    });
  }

  #forget(d: Dialog): void {
    if (d.uas200?.timer !== undefined) clearTimeout(d.uas200.timer);
    this.#dialogs.delete(d.callId);
  }

  #branch(): string {
    return `z9hG4bK${this.#tag}${++this.#seq}`;
  }
}

function via(sock: Socket, branch: string): string {
  return `Via: SIP/2.0/UDP 127.0.0.1:${sock.address().port};branch=${branch};rport`;
}

function request(method: string, uri: string, headers: readonly string[], body = ''): string {
  return `${method} ${uri} SIP/2.0\r\n${headers.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** A response to `req` copying Via (all, in order), Record-Route, From, To (+ tag), Call-ID and CSeq (§8.2.6.2, §12.1.1). */
function response(req: Msg, status: number, reason: string, extra: readonly string[], body = '', toTag?: string): string {
  const to = one(req, 'to') ?? '';
  const lines = [
    ...(req.headers.get('via') ?? []).map((v) => `Via: ${v}`),
    ...(req.headers.get('record-route') ?? []).map((v) => `Record-Route: ${v}`),
    `From: ${one(req, 'from') ?? ''}`,
    `To: ${toTag !== undefined && !/;tag=/i.test(to) ? `${to};tag=${toTag}` : to}`,
    `Call-ID: ${one(req, 'call-id') ?? ''}`,
    `CSeq: ${one(req, 'cseq') ?? ''}`,
    ...extra,
  ];
  return `SIP/2.0 ${status} ${reason}\r\n${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function parse(text: string): Msg | undefined {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 4);
  const lines = head.split('\r\n');
  const first = lines.shift();
  if (first === undefined || first === '') return undefined;
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[raw] ?? raw;
    const value = line.slice(colon + 1).trim();
    const list = headers.get(name) ?? [];
    // Via may carry several values in one line (§7.3.1)
    list.push(...(name === 'via' ? splitList(value) : [value]));
    headers.set(name, list);
  }
  return { first, headers, body, raw: text };
}

function one(m: Msg, name: string): string | undefined {
  return m.headers.get(name)?.[0];
}

function statusOf(m: Msg): number {
  return Number(/^SIP\/2\.0 (\d{3})/.exec(m.first)?.[1] ?? 0);
}

/** Splits a header value on commas outside <> and quotes. */
function splitList(v: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '<') depth++;
    else if (!quoted && c === '>') depth--;
    else if (!quoted && depth === 0 && c === ',') {
      out.push(v.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(v.slice(start).trim());
  return out.filter((s) => s !== '');
}

/** host:port of a SIP URI (in <> or bare); port 5060 when absent. */
function uriHostPort(uri: string): HostPort | undefined {
  const inner = /<([^>]+)>/.exec(uri)?.[1] ?? uri;
  const m = /^sips?:(?:[^@;]+@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?/i.exec(inner.trim());
  if (m === null) return undefined;
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  return { host, port: m[2] === undefined ? 5060 : Number(m[2]) };
}

/**
 * A tiny REGISTER client over UDP on loopback, for what SIPp measures badly: sub-millisecond
 * latency (SIPp's response times tick in ~4 ms steps). One request at a time is enough here:
 * sequential latency on an idle server (new AoRs, then refreshes of them: same Call-ID and
 * Contact, CSeq + 1), and the recovery probe after an overload trial. Retransmits like a UAC
 * (RFC 3261 §17.1.2.2: Timer E from T1 = 500 ms doubling to T2 = 4 s), gives up at its timeout.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { LoopbackHost } from '../../harness/sipp-runner.js';

export interface RegisterRequest {
  readonly user: string;
  readonly callId: string;
  readonly cseq: number;
  /** Default 3600. */
  readonly expires?: number;
}

export interface RegisterOutcome {
  /** Final status, undefined on timeout. */
  readonly status: number | undefined;
  /** From the first send to the final answer (or to the timeout). */
  readonly ms: number;
  readonly retransmissions: number;
  /** The Retry-After of the answer, if any. */
  readonly retryAfter?: string;
}

export interface ResponseHead {
  readonly status: number;
  readonly callId: string | undefined;
  readonly cseq: number | undefined;
  readonly method: string | undefined;
  readonly retryAfter: string | undefined;
}

/** The REGISTER text (CRLF line ends, AoR sip:user@host, Contact at contactPort). */
export function formatRegister(o: {
  readonly server: { readonly host: LoopbackHost; readonly port: number };
  readonly localPort: number;
  readonly contactPort: number;
  readonly branch: string;
  readonly tag: string;
  readonly request: RegisterRequest;
}): string {
  const host = o.server.host === '::1' ? '[::1]' : o.server.host;
  const { user, callId, cseq } = o.request;
  return [
    `REGISTER sip:${host}:${o.server.port} SIP/2.0`,
    `Via: SIP/2.0/UDP ${host}:${o.localPort};branch=${o.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:${user}@${host}>;tag=${o.tag}`,
    `To: <sip:${user}@${host}>`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:${user}@${host}:${o.contactPort};transport=udp>`,
    `Expires: ${o.request.expires ?? 3600}`,
    'User-Agent: p2psip-bench',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Status line and the headers a response is matched by; undefined for anything else. */
export function parseResponseHead(text: string): ResponseHead | undefined {
  const end = text.indexOf('\r\n\r\n');
  const lines = (end < 0 ? text : text.slice(0, end)).split(/\r?\n/);
  const m = /^SIP\/2\.0 (\d{3}) /.exec(lines[0] ?? '');
  if (m === null) return undefined;
  let callId: string | undefined;
  let cseq: number | undefined;
  let method: string | undefined;
  let retryAfter: string | undefined;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'call-id' || name === 'i') callId = value;
    else if (name === 'cseq') {
      const c = /^(\d+)\s+(\S+)/.exec(value);
      if (c !== null) {
        cseq = Number(c[1]);
        method = c[2];
      }
    } else if (name === 'retry-after') retryAfter = value;
  }
  return { status: Number(m[1]), callId, cseq, method, retryAfter };
}

const T1_MS = 500;
const T2_MS = 4000;

export class RegisterClient {
  readonly #socket: Socket;
  readonly #server: { readonly host: LoopbackHost; readonly port: number };
  readonly #contactPort: number;
  readonly #localPort: number;
  #pending: { key: string; resolve: (h: ResponseHead) => void } | undefined;

  private constructor(socket: Socket, server: { host: LoopbackHost; port: number }, contactPort: number) {
    this.#socket = socket;
    this.#server = server;
    this.#contactPort = contactPort;
    this.#localPort = socket.address().port;
    socket.on('message', (msg) => {
      const head = parseResponseHead(msg.toString('latin1'));
      const p = this.#pending;
      if (head === undefined || p === undefined || head.status < 200) return;
      if (`${head.callId ?? ''} ${String(head.cseq)}` !== p.key || head.method !== 'REGISTER') return;
      this.#pending = undefined;
      p.resolve(head);
    });
  }

  /** A client bound to an ephemeral loopback port. */
  static async open(server: { readonly host: LoopbackHost; readonly port: number }, contactPort: number): Promise<RegisterClient> {
    const socket = createSocket(server.host === '::1' ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, server.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new RegisterClient(socket, { ...server }, contactPort);
  }

  /** Sends one REGISTER and waits for its final answer, at most `timeoutMs`. */
  register(request: RegisterRequest, timeoutMs: number): Promise<RegisterOutcome> {
    if (this.#pending !== undefined) return Promise.reject(new Error('RegisterClient: one request at a time'));
    const text = formatRegister({
      server: this.#server,
      localPort: this.#localPort,
      contactPort: this.#contactPort,
      branch: `z9hG4bK-${randomBytes(8).toString('hex')}`,
      tag: randomBytes(4).toString('hex'),
      request,
    });
    const bytes = Buffer.from(text, 'latin1');
    return new Promise((resolve) => {
      const started = performance.now();
      let retransmissions = 0;
      let interval = T1_MS;
      let timer: NodeJS.Timeout | undefined;
      const send = (): void => this.#socket.send(bytes, this.#server.port, this.#server.host);
      const finish = (head: ResponseHead | undefined): void => {
        if (timer !== undefined) clearTimeout(timer);
        clearTimeout(deadline);
        this.#pending = undefined;
        const ms = performance.now() - started;
        resolve(head === undefined ? { status: undefined, ms, retransmissions } : { status: head.status, ms, retransmissions, ...(head.retryAfter === undefined ? {} : { retryAfter: head.retryAfter }) });
      };
      const again = (): void => {
        timer = setTimeout(() => {
          retransmissions++;
          send();
          interval = Math.min(interval * 2, T2_MS);
          again();
        }, interval);
      };
      const deadline = setTimeout(() => finish(undefined), timeoutMs);
      this.#pending = { key: `${request.callId} ${request.cseq}`, resolve: finish };
      send();
      again();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

export interface LatencyStats {
  readonly count: number;
  /** Not answered 200 (timeout or another status). */
  readonly failed: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly maxMs: number;
}

/** The p-quantile (0..1) by nearest rank of the sorted values (0 when empty). */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil(p * s.length)));
  return s[rank - 1] ?? 0;
}

/** Median, p90 and max of the answered (200) latencies; the others count as failed. */
export function latencyStats(outcomes: readonly RegisterOutcome[]): LatencyStats {
  const ok = outcomes.filter((o) => o.status === 200).map((o) => o.ms);
  return {
    count: outcomes.length,
    failed: outcomes.length - ok.length,
    medianMs: round3(quantile(ok, 0.5)),
    p90Ms: round3(quantile(ok, 0.9)),
    maxMs: round3(ok.length === 0 ? 0 : Math.max(...ok)),
  };
}

export interface SequentialLatency {
  /** `count` new AoRs, one after the other. */
  readonly newRegistrations: LatencyStats;
  /** The same AoRs again: same Call-ID and Contact, CSeq + 1. */
  readonly refreshes: LatencyStats;
}

/** `count` new REGISTERs one after another, then a refresh of each. */
export async function sequentialLatency(client: RegisterClient, prefix: string, count: number, timeoutMs = 4000): Promise<SequentialLatency> {
  const created: RegisterOutcome[] = [];
  const refreshed: RegisterOutcome[] = [];
  for (let i = 1; i <= count; i++) created.push(await client.register({ user: `${prefix}x${i}`, callId: `${prefix}-${i}@p2psip-bench`, cseq: 1 }, timeoutMs));
  for (let i = 1; i <= count; i++) refreshed.push(await client.register({ user: `${prefix}x${i}`, callId: `${prefix}-${i}@p2psip-bench`, cseq: 2 }, timeoutMs));
  return { newRegistrations: latencyStats(created), refreshes: latencyStats(refreshed) };
}

export interface RecoveryResult {
  /** From the start of probing to the first 200 (undefined: none within the window). */
  readonly msToFirst200: number | undefined;
  /** That REGISTER's own latency. */
  readonly lastLatencyMs: number | undefined;
  /** REGISTERs sent until then. */
  readonly probes: number;
  /** What the probes before it got: status (or 'timeout') → count. */
  readonly before: Readonly<Record<string, number>>;
}

/**
 * New REGISTERs one after another (each waits up to `perProbeMs`, 20 ms apart) until one is
 * answered 200 or `windowMs` has passed.
 */
export async function recoveryProbe(client: RegisterClient, prefix: string, windowMs: number, perProbeMs = 2000): Promise<RecoveryResult> {
  const started = performance.now();
  const before: Record<string, number> = {};
  let probes = 0;
  while (performance.now() - started < windowMs) {
    probes++;
    const o = await client.register({ user: `${prefix}x${probes}`, callId: `${prefix}-${probes}@p2psip-bench`, cseq: 1 }, perProbeMs);
    if (o.status === 200) return { msToFirst200: round3(performance.now() - started), lastLatencyMs: round3(o.ms), probes, before };
    const k = o.status === undefined ? 'timeout' : String(o.status);
    before[k] = (before[k] ?? 0) + 1;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { msToFirst200: undefined, lastLatencyMs: undefined, probes, before };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

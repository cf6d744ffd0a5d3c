/**
 * A client of rtpengine's ng control protocol: `<cookie> <bencoded dictionary>` in one UDP datagram,
 * answered by the same cookie and a dictionary with `result` ("ok", "pong", "error" with
 * `error-reason`). Requests are retransmitted every 500 ms (UDP) and bounded by a timeout; rtpengine
 * answers a repeated cookie from its cache, so a retransmission never creates a second call.
 * Commands used here: ping, offer, answer, delete, query.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { bdecode, bDict, bencode, bString, type BDict, type BInput } from './rtpengine-bencode.js';

export class NgError extends Error {
  readonly code = 'RTPENGINE_NG_ERROR';
}

export interface NgClientOptions {
  readonly host: '127.0.0.1' | '::1';
  readonly port: number;
  /** Bound on one request, retransmissions included. Default 5,000 ms. */
  readonly timeoutMs?: number;
}

interface Waiter {
  readonly resolve: (d: BDict) => void;
  readonly reject: (e: Error) => void;
  readonly retransmit: NodeJS.Timeout;
  readonly deadline: NodeJS.Timeout;
}

const RETRANSMIT_MS = 500;

export class NgClient {
  readonly #socket: Socket;
  readonly #waiters = new Map<string, Waiter>();
  readonly #prefix = randomBytes(4).toString('hex');
  #seq = 0;

  private constructor(
    socket: Socket,
    private readonly opts: NgClientOptions,
  ) {
    this.#socket = socket;
    socket.on('message', (msg) => this.#onMessage(msg));
    // an unconnected UDP socket: nothing to report; requests time out on their own
    socket.on('error', () => undefined);
  }

  static async open(opts: NgClientOptions): Promise<NgClient> {
    const socket = createSocket(opts.host === '::1' ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new NgClient(socket, opts);
  }

  /** Sends one command and resolves with the answer; rejects on `result: error` or timeout. */
  request(command: string, params: { readonly [key: string]: BInput | undefined } = {}): Promise<BDict> {
    const cookie = `${this.#prefix}_${++this.#seq}`;
    const datagram = Buffer.concat([Buffer.from(`${cookie} `), bencode({ ...params, command })]);
    return new Promise<BDict>((resolve, reject) => {
      const send = (): void => this.#socket.send(datagram, this.opts.port, this.opts.host);
      const retransmit = setInterval(send, RETRANSMIT_MS);
      const deadline = setTimeout(() => {
        this.#settle(cookie);
        reject(new NgError(`rtpengine ${command}: no answer within ${this.opts.timeoutMs ?? 5000} ms`));
      }, this.opts.timeoutMs ?? 5000);
      this.#waiters.set(cookie, {
        resolve: (d) => {
          const result = bString(d['result']);
          if (result === 'error') reject(new NgError(`rtpengine ${command}: ${bString(d['error-reason']) ?? 'error'}`));
          else resolve(d);
        },
        reject,
        retransmit,
        deadline,
      });
      send();
    });
  }

  async ping(): Promise<void> {
    const d = await this.request('ping');
    if (bString(d['result']) !== 'pong') throw new NgError(`rtpengine ping: ${JSON.stringify(bString(d['result']))}`);
  }

  /** `offer`: the SDP to hand to the callee (rtpengine's callee-facing ports). */
  async offer(callId: string, fromTag: string, sdp: string, extra: { readonly [key: string]: BInput } = {}): Promise<string> {
    return sdpOf(await this.request('offer', { ...extra, 'call-id': callId, 'from-tag': fromTag, sdp }), 'offer');
  }

  /** `answer`: the SDP to hand back to the caller (rtpengine's caller-facing ports). */
  async answer(callId: string, fromTag: string, toTag: string, sdp: string, extra: { readonly [key: string]: BInput } = {}): Promise<string> {
    return sdpOf(await this.request('answer', { ...extra, 'call-id': callId, 'from-tag': fromTag, 'to-tag': toTag, sdp }), 'answer');
  }

  async delete(callId: string, fromTag: string): Promise<BDict> {
    return this.request('delete', { 'call-id': callId, 'from-tag': fromTag });
  }

  async query(callId: string): Promise<BDict> {
    return this.request('query', { 'call-id': callId });
  }

  close(): void {
    for (const cookie of [...this.#waiters.keys()]) {
      const w = this.#settle(cookie);
      w?.reject(new NgError('client closed'));
    }
    this.#socket.close();
  }

  #onMessage(msg: Buffer): void {
    const space = msg.indexOf(0x20);
    if (space <= 0) return;
    const cookie = msg.toString('latin1', 0, space);
    const w = this.#settle(cookie);
    if (w === undefined) return; // a late answer to a retransmission
    try {
      const d = bDict(bdecode(msg.subarray(space + 1)));
      if (d === undefined) throw new NgError('answer is not a dictionary');
      w.resolve(d);
    } catch (err) {
      w.reject(err as Error);
    }
  }

  #settle(cookie: string): Waiter | undefined {
    const w = this.#waiters.get(cookie);
    if (w === undefined) return undefined;
    clearInterval(w.retransmit);
    clearTimeout(w.deadline);
    this.#waiters.delete(cookie);
    return w;
  }
}

function sdpOf(d: BDict, command: string): string {
  const sdp = bString(d['sdp']);
  if (sdp === undefined) throw new NgError(`rtpengine ${command}: answer has no sdp`);
  return sdp;
}

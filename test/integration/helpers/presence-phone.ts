/**
 * Issue 16 tests: a UDP phone that REGISTERs, SUBSCRIBEs and PUBLISHes with digest (answering one 401
 * or 407 with its password), answers every NOTIFY 200 and keeps their bodies. Text only.
 */
import { answer as digestAnswer, parseChallenge } from '../../support/sip/digest-client.js';
import { UdpProbe } from './udp-probe.js';

export class PresencePhone {
  private seq = 0;
  private readonly notifies: string[] = [];
  private constructor(
    readonly udp: UdpProbe,
    readonly user: string,
    readonly peer: { host: string; port: number },
    readonly domain: string,
    private readonly password: string,
  ) {
    udp.socket.on('message', (buf) => {
      const text = buf.toString('latin1');
      if (!text.startsWith('NOTIFY ')) return;
      this.notifies.push(text);
      this.reply(text, 200);
    });
  }

  static async open(user: string, peer: { host: string; port: number }, domain: string, password: string): Promise<PresencePhone> {
    return new PresencePhone(await UdpProbe.open('127.0.0.1'), user, peer, domain, password);
  }

  get aor(): string {
    return `sip:${this.user}@${this.domain}`;
  }

  /** NOTIFYs received so far (each answered 200). */
  received(): readonly string[] {
    return this.notifies;
  }

  /** Waits for a NOTIFY (received or future) matching `pred`. */
  waitNotify(pred: (m: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    return this.udp.waitFor((m) => m.startsWith('NOTIFY ') && pred(m), timeoutMs, what);
  }

  /** Sends `method` to `ruri`, answering one challenge; resolves the final response. */
  async request(method: string, ruri: string, opts: { callId?: string; to?: string; toTag?: string; headers?: string[]; body?: string } = {}): Promise<string> {
    const callId = opts.callId ?? `${method.toLowerCase()}-${this.user}-${++this.seq}-${this.udp.port}`;
    const first = await this.once(method, ruri, callId, opts, []);
    const status = Number(first.slice(8, 11));
    if (status !== 401 && status !== 407) return first;
    const name = status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const lines = first.split('\r\n');
    const header = lines.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`) && /algorithm=MD5/i.test(l)) ?? lines.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))!;
    const challenge = parseChallenge(header.slice(header.indexOf(':') + 1).trim());
    const auth = digestAnswer(challenge, { username: this.user, password: this.password, method, uri: ruri, cnonce: `cn${this.seq}` });
    return this.once(method, ruri, callId, opts, [`${status === 401 ? 'Authorization' : 'Proxy-Authorization'}: ${auth}`]);
  }

  private async once(method: string, ruri: string, callId: string, opts: { to?: string; toTag?: string; headers?: string[]; body?: string }, auth: string[]): Promise<string> {
    const n = ++this.seq;
    const body = opts.body ?? '';
    const text = [
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.udp.port};branch=z9hG4bK${this.user}${n}x${this.udp.port};rport`,
      'Max-Forwards: 70',
      `From: <${this.aor}>;tag=${this.user}-${callId.length}`,
      `To: <${opts.to ?? ruri}>${opts.toTag === undefined ? '' : `;tag=${opts.toTag}`}`,
      `Call-ID: ${callId}`,
      `CSeq: ${n} ${method}`,
      `Contact: <sip:${this.user}@127.0.0.1:${this.udp.port}>`,
      ...(opts.headers ?? []),
      ...auth,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
    this.udp.send(text, this.peer.port, this.peer.host);
    return this.udp.waitFor((m) => /^SIP\/2\.0 [2-6]\d\d/.test(m) && m.includes(`Call-ID: ${callId}`) && new RegExp(`CSeq: ${n} `).test(m), 15_000, `answer to ${method} ${callId}`);
  }

  private reply(request: string, status: number): void {
    const hdrs = request.split('\r\n');
    const pick = (name: string): string[] => hdrs.filter((h) => h.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    const vias = pick('Via');
    const out = [`SIP/2.0 ${status} OK`, ...vias, ...pick('From'), ...pick('To'), ...pick('Call-ID'), ...pick('CSeq'), 'Content-Length: 0', '', ''];
    const top = /SIP\/2\.0\/UDP ([^;:\s]+):(\d+)/i.exec(vias[0] ?? '')!;
    this.udp.send(out.join('\r\n'), Number(top[2]), top[1]);
  }

  close(): void {
    this.udp.close();
  }
}

/** The `<basic>` values of a NOTIFY's PIDF body, in order. */
export function basics(notify: string): string[] {
  return [...notify.matchAll(/<basic>\s*(open|closed)\s*<\/basic>/g)].map((m) => m[1]!);
}

/**
 * A tiny UDP SIP phone for integration tests (on UdpProbe): REGISTER, send requests, answer
 * requests it receives back along their top Via. Text only; enough for MESSAGE/INVITE flows.
 */
import { UdpProbe } from './udp-probe.js';

export class SipPhoneProbe {
  private seq = 0;

  private constructor(
    readonly name: string,
    readonly udp: UdpProbe,
    /** The peer this phone uses as registrar and outbound proxy. */
    readonly peer: { host: string; port: number },
    readonly domain: string,
  ) {}

  static async open(name: string, peer: { host: string; port: number }, domain: string): Promise<SipPhoneProbe> {
    return new SipPhoneProbe(name, await UdpProbe.open('127.0.0.1'), peer, domain);
  }

  get contact(): string {
    return `sip:${this.name}@127.0.0.1:${this.udp.port}`;
  }

  private lines(method: string, ruri: string, callId: string, extra: string[], to = ruri): string {
    const n = ++this.seq;
    return [
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.udp.port};branch=z9hG4bK${this.name}${n}x${Date.now() % 100000};rport`,
      'Max-Forwards: 70',
      `From: <sip:${this.name}@${this.domain}>;tag=${this.name}t${n}`,
      `To: <${to}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${n} ${method}`,
      `Contact: <${this.contact}>`,
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }

  /** Sends REGISTER and resolves with the status line of the final answer. */
  async register(expires = 600): Promise<string> {
    const callId = `reg-${this.name}-${this.udp.port}`;
    this.udp.send(this.lines('REGISTER', `sip:${this.domain}`, callId, [`Expires: ${expires}`], `sip:${this.name}@${this.domain}`), this.peer.port, this.peer.host);
    const res = await this.udp.waitFor((m) => m.startsWith('SIP/2.0 ') && !m.startsWith('SIP/2.0 1') && m.includes(callId), 5000, `REGISTER answer for ${this.name}`);
    return res.split('\r\n')[0]!;
  }

  /** Sends a request out of dialog; returns its Call-ID. */
  send(method: string, ruri: string, callId = `${method}-${this.name}-${++this.seq}-${this.udp.port}`): string {
    this.udp.send(this.lines(method, ruri, callId, []), this.peer.port, this.peer.host);
    return callId;
  }

  /** The first final response to `callId` (status line and whole message). */
  async finalFor(callId: string, timeoutMs = 10_000): Promise<{ status: number; text: string }> {
    const text = await this.udp.waitFor((m) => /^SIP\/2\.0 [2-6]\d\d/.test(m) && m.includes(`Call-ID: ${callId}`), timeoutMs, `final response to ${callId}`);
    return { status: Number(text.slice(8, 11)), text };
  }

  /** Waits for a request of `method`. */
  waitRequest(method: string, timeoutMs = 10_000): Promise<string> {
    return this.udp.waitFor((m) => m.startsWith(`${method} `), timeoutMs, `${method} at ${this.name}`);
  }

  /** Answers a received request to its top Via's sent-by (rport honoured when present). */
  answer(request: string, status: number, reason = 'OK'): void {
    const hdrs = request.split('\r\n');
    const pick = (name: string): string[] => hdrs.filter((h) => h.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    const vias = pick('Via');
    const out = [`SIP/2.0 ${status} ${reason}`, ...vias, ...pick('Record-Route'), ...pick('From')];
    out.push(...pick('To').map((t) => (t.includes(';tag=') ? t : `${t};tag=${this.name}-tt`)), ...pick('Call-ID'), ...pick('CSeq'));
    out.push(`Contact: <${this.contact}>`, 'Content-Length: 0', '', '');
    const top = /SIP\/2\.0\/UDP ([^;:\s]+):(\d+)/i.exec(vias[0] ?? '');
    if (top === null) throw new Error('no UDP Via to answer to');
    this.udp.send(out.join('\r\n'), Number(top[2]), top[1]);
  }

  close(): void {
    this.udp.close();
  }
}

/**
 * `caller` calls `callee` (an AoR of `domain`) until the INVITE reaches it — the first one locates
 * the callee's peer (Fetch + AppAttach), and a loaded machine may need another try, waiting past the
 * locator's negative cache — then `callee` answers (180 first when `ringing`) and the caller must get
 * 200. Resolves with the answered call's Call-ID; throws after 4 attempts.
 */
export async function callUntilAnswered(caller: SipPhoneProbe, callee: SipPhoneProbe, aor: string, opts: { ringing?: boolean } = {}): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const id = caller.send('INVITE', aor);
    const invite = await callee.waitRequest('INVITE', 10_000).catch(() => undefined);
    if (invite !== undefined && invite.includes(`Call-ID: ${id}`)) {
      if (opts.ringing === true) callee.answer(invite, 180, 'Ringing');
      callee.answer(invite, 200, 'OK');
      const final = await caller.finalFor(id);
      if (final.status !== 200) throw new Error(`the call was answered ${final.status}, not 200`);
      return id;
    }
    if (attempt >= 3) throw new Error(`the INVITE never reached ${aor}`);
    await new Promise((r) => setTimeout(r, 5_100)); // past the locator's negative cache
  }
}

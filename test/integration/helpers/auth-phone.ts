/**
 * A UDP phone for the issue 15 tests: REGISTERs answering one digest challenge with a password (MD5
 * preferred), sends MESSAGE/INVITE, answers what it receives to the top Via. Text only.
 */
import { answer as digestAnswer, parseChallenge } from '../../support/sip/digest-client.js';
import { UdpProbe } from './udp-probe.js';

/** A UDP phone that answers digest challenges (REGISTER) and receives requests. */
export class AuthPhone {
  private seq = 0;
  private constructor(
    readonly udp: UdpProbe,
    readonly user: string,
    readonly from: string,
    readonly peer: { host: string; port: number },
    readonly domain: string,
  ) {}
  static async open(user: string, peer: { host: string; port: number }, domain: string, fromDomain = domain): Promise<AuthPhone> {
    return new AuthPhone(await UdpProbe.open('127.0.0.1'), user, `sip:${user}@${fromDomain}`, peer, domain);
  }
  private request(method: string, ruri: string, callId: string, to: string, extra: string[] = []): string {
    const n = ++this.seq;
    return [
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.udp.port};branch=z9hG4bK${this.user}${n}x${this.udp.port};rport`,
      'Max-Forwards: 70',
      `From: <${this.from}>;tag=${this.user}t${n}`,
      `To: <${to}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${n} ${method}`,
      `Contact: <sip:${this.user}@127.0.0.1:${this.udp.port}>`,
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }
  private async final(callId: string, cseq: number, timeoutMs = 15_000): Promise<string> {
    return this.udp.waitFor((m) => /^SIP\/2\.0 [2-6]\d\d/.test(m) && m.includes(`Call-ID: ${callId}`) && new RegExp(`CSeq: ${cseq} `).test(m), timeoutMs, `answer to ${callId}/${cseq}`);
  }
  /** REGISTER, answering one challenge with `password`; the final status line. */
  async register(password: string): Promise<string> {
    const callId = `reg-${this.user}-${this.udp.port}`;
    const to = `sip:${this.user}@${this.domain}`;
    this.udp.send(this.request('REGISTER', `sip:${this.domain}`, callId, to, ['Expires: 600']), this.peer.port, this.peer.host);
    const first = await this.final(callId, this.seq);
    if (!first.startsWith('SIP/2.0 401')) return first.split('\r\n')[0]!;
    const header = first.split('\r\n').find((l) => /^WWW-Authenticate:/i.test(l) && /algorithm=MD5/i.test(l)) ?? first.split('\r\n').find((l) => /^WWW-Authenticate:/i.test(l))!;
    const challenge = parseChallenge(header.slice(header.indexOf(':') + 1).trim());
    const auth = digestAnswer(challenge, { username: this.user, password, method: 'REGISTER', uri: `sip:${this.domain}`, cnonce: `cn${this.udp.port}` });
    this.udp.send(this.request('REGISTER', `sip:${this.domain}`, callId, to, ['Expires: 600', `Authorization: ${auth}`]), this.peer.port, this.peer.host);
    return (await this.final(callId, this.seq)).split('\r\n')[0]!;
  }
  send(method: string, ruri: string): { callId: string; cseq: number } {
    const callId = `${method}-${this.user}-${this.seq + 1}-${this.udp.port}`;
    this.udp.send(this.request(method, ruri, callId, ruri), this.peer.port, this.peer.host);
    return { callId, cseq: this.seq };
  }
  finalFor(callId: string, cseq: number, timeoutMs?: number): Promise<string> {
    return this.final(callId, cseq, timeoutMs);
  }
  /** Answers a request it received (to the top Via). */
  answer(request: string, status: number): void {
    const hdrs = request.split('\r\n');
    const pick = (name: string): string[] => hdrs.filter((h) => h.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    const vias = pick('Via');
    const out = [`SIP/2.0 ${status} OK`, ...vias, ...pick('From'), ...pick('To').map((t) => `${t};tag=${this.user}-tt`), ...pick('Call-ID'), ...pick('CSeq'), 'Content-Length: 0', '', ''];
    const top = /SIP\/2\.0\/UDP ([^;:\s]+):(\d+)/i.exec(vias[0] ?? '')!;
    this.udp.send(out.join('\r\n'), Number(top[2]), top[1]);
  }
  close(): void {
    this.udp.close();
  }
}


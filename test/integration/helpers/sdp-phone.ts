/**
 * A UDP SIP phone with SDP and an RTP socket, for the media relay's integration tests: REGISTER,
 * INVITE with an offer, answer with an SDP, ACK and BYE along the Record-Route set, and RTP sent and
 * counted. Text only; loopback.
 */
import { createSocket, type Socket } from 'node:dgram';
import { UdpProbe } from './udp-probe.js';

export interface RtpIn {
  from: string;
  seq: number;
  ssrc: number;
  payload: Buffer;
}

export class SdpPhone {
  private seq = 0;
  readonly rtpIn: RtpIn[] = [];
  private rtpWaiters: Array<() => void> = [];

  private constructor(
    readonly name: string,
    readonly sip: UdpProbe,
    readonly rtp: Socket,
    readonly rtpPort: number,
    readonly peer: { host: string; port: number },
    readonly domain: string,
  ) {
    rtp.on('message', (m, r) => {
      this.rtpIn.push({ from: `${r.address}:${r.port}`, seq: m.readUInt16BE(2), ssrc: m.readUInt32BE(8), payload: m.subarray(12) });
      for (const w of this.rtpWaiters.splice(0)) w();
    });
  }

  static async open(name: string, peer: { host: string; port: number }, domain: string): Promise<SdpPhone> {
    const sip = await UdpProbe.open('127.0.0.1');
    const rtp = createSocket('udp4');
    await new Promise<void>((resolve) => rtp.bind(0, '127.0.0.1', () => resolve()));
    return new SdpPhone(name, sip, rtp, rtp.address().port, peer, domain);
  }

  get contact(): string {
    return `sip:${this.name}@127.0.0.1:${this.sip.port}`;
  }

  /** An audio offer/answer at our RTP port (PCMU, telephone-event), optionally more m-lines. */
  sdp(extra: string[] = [], address = '127.0.0.1'): string {
    return ['v=0', `o=${this.name} 1 1 IN IP4 ${address}`, 's=-', `c=IN IP4 ${address}`, 't=0 0', `m=audio ${this.rtpPort} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ...extra, ''].join('\r\n');
  }

  private request(method: string, ruri: string, callId: string, headers: string[], body = ''): string {
    const n = ++this.seq;
    return [
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.sip.port};branch=z9hG4bK${this.name}${n}x${Date.now() % 100000};rport`,
      'Max-Forwards: 70',
      ...headers,
      `Call-ID: ${callId}`,
      `CSeq: ${n} ${method}`,
      `Contact: <${this.contact}>`,
      ...(body === '' ? [] : ['Content-Type: application/sdp']),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  }

  async register(): Promise<string> {
    const callId = `reg-${this.name}-${this.sip.port}`;
    this.sip.send(this.request('REGISTER', `sip:${this.domain}`, callId, [`From: <sip:${this.name}@${this.domain}>;tag=r${this.name}`, `To: <sip:${this.name}@${this.domain}>`, 'Expires: 600']), this.peer.port, this.peer.host);
    const res = await this.sip.waitFor((m) => m.startsWith('SIP/2.0 ') && !m.startsWith('SIP/2.0 1') && m.includes(callId), 5000, `REGISTER answer for ${this.name}`);
    return res.split('\r\n')[0]!;
  }

  /** Sends an INVITE with `body`; resolves with the final response text. */
  async invite(user: string, body: string, callId = `call-${this.name}-${++this.seq}-${this.sip.port}`): Promise<{ callId: string; final: string; fromTag: string }> {
    const fromTag = `${this.name}ft${this.seq}`;
    const ruri = `sip:${user}@${this.domain}`;
    this.sip.send(this.request('INVITE', ruri, callId, [`From: <sip:${this.name}@${this.domain}>;tag=${fromTag}`, `To: <${ruri}>`], body), this.peer.port, this.peer.host);
    const final = await this.sip.waitFor((m) => /^SIP\/2\.0 [2-6]\d\d/.test(m) && m.includes(`Call-ID: ${callId}`) && /CSeq: \d+ INVITE/.test(m), 15_000, `final answer to INVITE ${callId}`);
    return { callId, final, fromTag };
  }

  /** ACK (or BYE) for a 2xx, along its Record-Route set, to our peer. */
  inDialog(method: 'ACK' | 'BYE', ok: string, body = ''): void {
    const h = headerLines(ok);
    const rr = h.filter((l) => /^record-route:/i.test(l)).flatMap((l) => l.slice(l.indexOf(':') + 1).split(',').map((x) => x.trim()));
    const contact = /<([^>]+)>/.exec(h.find((l) => /^contact:/i.test(l)) ?? '')?.[1] ?? '';
    const cseq = Number(/^CSeq:\s*(\d+)/im.exec(ok)?.[1] ?? '1');
    const n = method === 'ACK' ? cseq : ++this.seq + 100;
    const lines = [
      `${method} ${contact} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.sip.port};branch=z9hG4bK${this.name}${method}${n}x${Date.now() % 100000};rport`,
      'Max-Forwards: 70',
      ...rr.reverse().map((r) => `Route: ${r}`),
      ...h.filter((l) => /^(from|to|call-id):/i.test(l)),
      `CSeq: ${n} ${method}`,
      ...(body === '' ? [] : ['Content-Type: application/sdp']),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
    this.sip.send(lines.join('\r\n'), this.peer.port, this.peer.host);
  }

  waitRequest(method: string, timeoutMs = 10_000, callId?: string): Promise<string> {
    return this.sip.waitFor((m) => m.startsWith(`${method} `) && (callId === undefined || m.includes(`Call-ID: ${callId}`)), timeoutMs, `${method} at ${this.name}`);
  }

  /** Answers a received request along its Vias (Record-Route copied), with an optional SDP. */
  answer(request: string, status: number, reason = 'OK', body = ''): void {
    const h = headerLines(request);
    const pick = (name: string): string[] => h.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    const vias = pick('Via');
    const out = [`SIP/2.0 ${status} ${reason}`, ...vias, ...pick('Record-Route'), ...pick('From')];
    out.push(...pick('To').map((t) => (t.includes(';tag=') ? t : `${t};tag=${this.name}-tt`)), ...pick('Call-ID'), ...pick('CSeq'));
    out.push(`Contact: <${this.contact}>`, ...(body === '' ? [] : ['Content-Type: application/sdp']), `Content-Length: ${Buffer.byteLength(body)}`, '', body);
    const top = /SIP\/2\.0\/UDP ([^;:\s]+):(\d+)/i.exec(vias[0] ?? '');
    if (top === null) throw new Error('no UDP Via to answer to');
    const rport = /;rport=(\d+)/.exec(vias[0] ?? '')?.[1];
    this.sip.send(out.join('\r\n'), Number(rport ?? top[2]), top[1]);
  }

  /** Sends `count` RTP packets (PCMU, 160 bytes of a pattern derived from the sequence number) to `to`. */
  sendRtp(to: { host: string; port: number }, count: number, ssrc = 0x1234, from: Socket = this.rtp): void {
    for (let i = 0; i < count; i++) {
      const p = Buffer.alloc(172);
      p[0] = 0x80;
      p[1] = 0;
      p.writeUInt16BE(i & 0xffff, 2);
      p.writeUInt32BE(i * 160, 4);
      p.writeUInt32BE(ssrc, 8);
      for (let j = 12; j < 172; j++) p[j] = (i + j) & 0xff;
      from.send(p, to.port, to.host);
    }
  }

  /** Resolves once `n` RTP packets came (bounded: rejects after `timeoutMs`). */
  async waitRtp(n: number, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.rtpIn.length < n) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`${this.name}: ${this.rtpIn.length} of ${n} RTP packets within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.rtpWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.sip.close();
    this.rtp.close();
  }
}

export function headerLines(msg: string): string[] {
  return msg.split('\r\n\r\n')[0]!.split('\r\n');
}

export function bodyOf(msg: string): string {
  const i = msg.indexOf('\r\n\r\n');
  return i < 0 ? '' : msg.slice(i + 4);
}

/** The audio address of an SDP: its c= address and first m=audio port. */
export function audioAddress(sdp: string): { host: string; port: number } {
  const host = /^c=IN IP4 (\S+)/m.exec(sdp)?.[1];
  const port = /^m=audio (\d+)/m.exec(sdp)?.[1];
  if (host === undefined || port === undefined) throw new Error(`no audio address in SDP:\n${sdp}`);
  return { host, port: Number(port) };
}

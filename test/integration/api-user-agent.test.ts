/**
 * The library API's user agent (src/api/user-agent.ts) on a real UDP socket against a scripted SIP
 * front (a UdpProbe on loopback), with a manual clock for its timers: digest answers to 401 and 407,
 * the granted expiry, deadlines, the answers to requests for the application's users (handler,
 * defaults, 404, 481, 500), 2xx to INVITE retransmitted until the ACK, CANCEL → 487, and the bounds.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/lib/manual-clock.js';
import { SeededRandom } from '../../src/lib/random.js';
import { computeDigestResponse, computeHa1 } from '../../src/sip/auth/digest-math.js';
import { parseCredentials } from '../../src/sip/auth/digest-header.js';
import { AppUserAgent, MAX_PENDING_REQUESTS, MAX_USERS, STOP_WAIT_MS } from '../../src/api/user-agent.js';
import { MAX_PENDING_INCOMING } from '../../src/api/ua-incoming.js';
import { MAX_DIALOGS } from '../../src/api/ua-dialogs.js';
import { MAX_EXTRA_HEADERS, MAX_REQUEST_BODY_BYTES } from '../../src/api/sip-text.js';
import { P2psipApiError } from '../../src/api/api-error.js';
import { HANDLER_TIMEOUT_MS, type IncomingRequest } from '../../src/api/sip-types.js';
import { UdpProbe, headerOf, statusOf } from './helpers/udp-probe.js';

const DOMAIN = 'p2psip.local';

/** The front's answer to a request it received: status line, the request's Via/From/To/Call-ID/CSeq, extra lines. */
function reply(req: string, status: number, reason: string, extra: string[] = [], toTag = 'front1'): string {
  const lines = req.split('\r\n\r\n')[0]!.split('\r\n');
  const pick = (n: string): string[] => lines.filter((l) => l.toLowerCase().startsWith(`${n}:`));
  const to = pick('to').map((t) => (t.includes(';tag=') ? t : `${t};tag=${toTag}`));
  return [`SIP/2.0 ${status} ${reason}`, ...pick('via'), ...pick('from'), ...to, ...pick('call-id'), ...pick('cseq'), ...extra, 'Content-Length: 0', '', ''].join('\r\n');
}

/** Checks a digest answer as the verifier would (the password is known here). */
function checkDigest(value: string, password: string, method: string): void {
  const p = parseCredentials(value, 4096);
  assert.ok(p.ok && p.scheme === 'Digest', value);
  const g = (k: string): string => p.params.get(k) ?? '';
  const ha1 = computeHa1('MD5', g('username'), g('realm'), password);
  const expected = computeDigestResponse(ha1, { algorithm: 'MD5', method, uri: g('uri'), nonce: g('nonce'), qop: 'auth', nc: g('nc'), cnonce: g('cnonce') });
  assert.equal(g('response'), expected, 'the digest response is made with the password');
  assert.equal(g('qop'), 'auth');
  assert.equal(g('opaque'), 'op1');
}

describe('the API user agent against a scripted SIP front', { timeout: 60_000 }, () => {
  const closers: Array<() => unknown> = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  async function rig(): Promise<{ ua: AppUserAgent; front: UdpProbe; clock: ManualClock; seen: IncomingRequest[] }> {
    const front = await UdpProbe.open('127.0.0.1');
    const clock = new ManualClock(1_000);
    const seen: IncomingRequest[] = [];
    const ua = await AppUserAgent.start({ clock, random: new SeededRandom(7), front: { host: '127.0.0.1', port: front.port }, domain: DOMAIN, bindHost: '127.0.0.1', onRequest: (r) => seen.push(r) });
    // the stop's wait for un-REGISTERs runs on the manual clock: moved past it
    closers.push(
      () => front.close(),
      () => {
        const closing = ua.close();
        clock.advance(STOP_WAIT_MS);
        return closing;
      },
    );
    return { ua, front, clock, seen };
  }

  /** Sends `text` to the user agent from the front. */
  const toUa = (front: UdpProbe, ua: AppUserAgent, text: string): void => front.send(text, ua.local.port, '127.0.0.1');

  test('REGISTER answers the 401 with the password, keeps the granted expiry; MESSAGE answers the 407 as the From user', async () => {
    const { ua, front } = await rig();
    const registered = ua.register('alice', 'secret', 600);
    const r1 = await front.waitFor((m) => m.startsWith('REGISTER '), 5000, 'REGISTER');
    assert.equal(headerOf(r1, 'Expires'), '600');
    assert.match(headerOf(r1, 'Contact') ?? '', new RegExp(`^<sip:alice@127\\.0\\.0\\.1:${ua.local.port}>$`));
    assert.equal(headerOf(r1, 'Authorization'), undefined);
    toUa(front, ua, reply(r1, 401, 'Unauthorized', [`WWW-Authenticate: Digest realm="${DOMAIN}", nonce="n1", qop="auth", algorithm=MD5, opaque="op1"`]));
    const r2 = await front.waitFor((m) => m.startsWith('REGISTER ') && /^Authorization:/im.test(m), 5000, 'REGISTER with credentials');
    checkDigest(headerOf(r2, 'Authorization')!, 'secret', 'REGISTER');
    assert.equal(headerOf(r2, 'Call-ID'), headerOf(r1, 'Call-ID'), 'same Call-ID (RFC 3261 §10.2.4)');
    assert.equal(Number(headerOf(r2, 'CSeq')!.split(' ')[0]), Number(headerOf(r1, 'CSeq')!.split(' ')[0]) + 1, 'CSeq one higher');
    toUa(front, ua, reply(r2, 200, 'OK', [`Contact: <sip:alice@127.0.0.1:${ua.local.port}>;expires=120`]));
    assert.deepEqual(await registered, { aor: `sip:alice@${DOMAIN}`, contact: `sip:alice@127.0.0.1:${ua.local.port}`, expiresS: 120 });
    assert.deepEqual(ua.registeredUsers(), ['alice']);

    const sent = ua.request({ method: 'MESSAGE', to: 'ignored', body: 'hi' }, `sip:bob@${DOMAIN}`);
    const m1 = await front.waitFor((m) => m.startsWith('MESSAGE '), 5000, 'MESSAGE');
    assert.match(headerOf(m1, 'From') ?? '', new RegExp(`^<sip:alice@${DOMAIN}>;tag=`));
    assert.equal(headerOf(m1, 'Content-Type'), 'text/plain;charset=utf-8');
    toUa(front, ua, reply(m1, 407, 'Proxy Authentication Required', [`Proxy-Authenticate: Digest realm="${DOMAIN}", nonce="n2", qop="auth", algorithm=MD5, opaque="op1"`]));
    const m2 = await front.waitFor((m) => m.startsWith('MESSAGE ') && /^Proxy-Authorization:/im.test(m), 5000, 'MESSAGE with credentials');
    checkDigest(headerOf(m2, 'Proxy-Authorization')!, 'secret', 'MESSAGE');
    assert.match(headerOf(m2, 'Proxy-Authorization')!, /username="alice"/);
    toUa(front, ua, reply(m2, 202, 'Accepted', ['X-Note: fine']));
    const r = await sent;
    assert.equal(r.status, 202);
    assert.equal(r.header('x-note'), 'fine');
    assert.equal(r.local, false);
  });

  test('a request nobody answers ends in a local 408 at its deadline; a stop answers the rest with 503', async () => {
    const { ua, front, clock } = await rig();
    const pending = ua.request({ method: 'OPTIONS', to: 'x', timeoutMs: 1_500 }, `sip:bob@${DOMAIN}`);
    await front.waitFor((m) => m.startsWith('OPTIONS '), 5000, 'OPTIONS');
    clock.advance(1_500);
    const r = await pending;
    assert.equal(r.status, 408);
    assert.equal(r.local, true);
    const second = ua.request({ method: 'OPTIONS', to: 'x' }, `sip:carol@${DOMAIN}`);
    await front.waitFor((m) => m.startsWith('OPTIONS sip:carol'), 5000, 'second OPTIONS');
    const closing = ua.close();
    clock.advance(STOP_WAIT_MS);
    await closing;
    assert.equal((await second).status, 503);
    await assert.rejects(ua.request({ method: 'OPTIONS', to: 'x' }, `sip:bob@${DOMAIN}`), (e: unknown) => e instanceof P2psipApiError && e.code === 'closed');
  });

  test('requests to our users: the handler answers; defaults, 404, 481, a failing handler 500, a late one 500', async () => {
    const { ua, front, clock, seen } = await rig();
    const reg = ua.register('bot', undefined, 600);
    toUa(front, ua, reply(await front.waitFor((m) => m.startsWith('REGISTER ')), 200, 'OK'));
    await reg;
    let mode: 'reply' | 'none' | 'throw' | 'hang' = 'reply';
    ua.setHandler((req) => {
      if (mode === 'throw') throw new Error('boom');
      if (mode === 'hang') return new Promise(() => undefined);
      if (mode === 'none') return undefined;
      return { status: 202, reason: 'Taken', headers: [['X-Echo', [...req.text].reverse().join('')]] };
    });
    const req = (method: string, ruri: string, n: number, extra: string[] = [], body = ''): string =>
      [`${method} ${ruri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${front.port};branch=z9hG4bKfront${n}`, 'Max-Forwards: 69', `From: <sip:alice@${DOMAIN}>;tag=a${n}`, `To: <sip:bot@${DOMAIN}>`, `Call-ID: in${n}@front`, `CSeq: 1 ${method}`, ...extra, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
    const answerTo = (n: number): Promise<string> => front.waitFor((m) => statusOf(m) !== undefined && statusOf(m)! >= 200 && m.includes(`Call-ID: in${n}@front`), 5000, `answer to in${n}`);
    const botUri = `sip:bot@127.0.0.1:${ua.local.port}`;

    toUa(front, ua, req('MESSAGE', botUri, 1, ['Content-Type: text/plain'], 'abc'));
    const a1 = await answerTo(1);
    assert.equal(statusOf(a1), 202);
    assert.equal(headerOf(a1, 'X-Echo'), 'cba');
    assert.equal(seen[0]?.method, 'MESSAGE');
    assert.equal(seen[0]?.from, `sip:alice@${DOMAIN}`);
    assert.equal(seen[0]?.user, 'bot');
    assert.equal(seen[0]?.text, 'abc');

    mode = 'none';
    toUa(front, ua, req('MESSAGE', botUri, 2));
    assert.equal(statusOf(await answerTo(2)), 480, 'no answer from the handler: 480');
    toUa(front, ua, req('OPTIONS', botUri, 3));
    assert.equal(statusOf(await answerTo(3)), 200, 'OPTIONS: 200 by default');
    toUa(front, ua, req('MESSAGE', `sip:nobody@127.0.0.1:${ua.local.port}`, 4));
    assert.equal(statusOf(await answerTo(4)), 404, 'a user not registered here');
    toUa(front, ua, req('BYE', botUri, 5).replace(`To: <sip:bot@${DOMAIN}>`, `To: <sip:bot@${DOMAIN}>;tag=unknown`));
    assert.equal(statusOf(await answerTo(5)), 481, 'a request in a dialog we do not have');

    mode = 'throw';
    toUa(front, ua, req('MESSAGE', botUri, 6));
    assert.equal(statusOf(await answerTo(6)), 500, 'a handler that throws');
    mode = 'hang';
    toUa(front, ua, req('MESSAGE', botUri, 7));
    await until(() => seen.some((r) => r.callId === 'in7@front'));
    clock.advance(HANDLER_TIMEOUT_MS);
    const a7 = await answerTo(7);
    assert.equal(statusOf(a7), 500, 'a handler past HANDLER_TIMEOUT_MS');
    assert.match(a7.split('\r\n')[0]!, /in time/);
  });

  test('INVITE: 100, then the 2xx with Contact and SDP, retransmitted until the ACK; BYE ends the session; CANCEL gets 487', async () => {
    const { ua, front, clock } = await rig();
    const reg = ua.register('bob', undefined, 600);
    toUa(front, ua, reply(await front.waitFor((m) => m.startsWith('REGISTER ')), 200, 'OK'));
    await reg;
    let release: (() => void) | undefined;
    ua.setHandler(async (r) => {
      if (r.method === 'INVITE' && r.callId.startsWith('slow')) await new Promise<void>((resolve) => (release = resolve));
      return r.method === 'INVITE' ? { status: 200, body: 'v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\n', contentType: 'application/sdp' } : undefined;
    });
    const invite = (callId: string, branch: string): string =>
      [`INVITE sip:bob@127.0.0.1:${ua.local.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${front.port};branch=${branch}`, 'Max-Forwards: 69', `Record-Route: <sip:127.0.0.1:${front.port};lr>`, `From: <sip:alice@${DOMAIN}>;tag=al`, `To: <sip:bob@${DOMAIN}>`, `Call-ID: ${callId}`, 'CSeq: 1 INVITE', `Contact: <sip:alice@127.0.0.1:${front.port}>`, 'Content-Length: 0', '', ''].join('\r\n');
    toUa(front, ua, invite('call1', 'z9hG4bKinv1'));
    await front.waitFor((m) => statusOf(m) === 100 && m.includes('Call-ID: call1'), 5000, '100 Trying');
    const ok = await front.waitFor((m) => statusOf(m) === 200 && m.includes('Call-ID: call1'), 5000, '200 to INVITE');
    assert.match(headerOf(ok, 'Contact') ?? '', new RegExp(`sip:bob@127\\.0\\.0\\.1:${ua.local.port}`));
    assert.equal(headerOf(ok, 'Content-Type'), 'application/sdp');
    assert.match(headerOf(ok, 'Record-Route') ?? '', /lr/, 'the Record-Route set is copied into the 2xx');
    assert.equal(ua.dialogOf('call1')?.remoteSdp, '');
    const count = (): number => front.received.filter((m) => statusOf(m) === 200 && m.includes('Call-ID: call1') && m.includes('INVITE')).length;
    clock.advance(500);
    await until(() => count() >= 2);
    const toTag = /;tag=([^;\s]+)/.exec(headerOf(ok, 'To')!)![1]!;
    toUa(front, ua, [`ACK sip:bob@127.0.0.1:${ua.local.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${front.port};branch=z9hG4bKack1`, 'Max-Forwards: 69', `From: <sip:alice@${DOMAIN}>;tag=al`, `To: <sip:bob@${DOMAIN}>;tag=${toTag}`, 'Call-ID: call1', 'CSeq: 1 ACK', 'Content-Length: 0', '', ''].join('\r\n'));
    await new Promise((r) => setTimeout(r, 100)); // the ACK datagram is on loopback; it only has to be read
    const afterAck = count();
    clock.advance(4_000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(count(), afterAck, 'no 2xx retransmission after the ACK');

    // our BYE goes along the route set (to the front) and ends the session
    const byeDone = ua.dialogOf('call1')!.bye();
    const bye = await front.waitFor((m) => m.startsWith('BYE '), 5000, 'BYE');
    assert.match(bye.split('\r\n')[0]!, new RegExp(`^BYE sip:alice@127\\.0\\.0\\.1:${front.port} `));
    assert.match(headerOf(bye, 'Route') ?? '', /lr/);
    assert.match(headerOf(bye, 'To') ?? '', /tag=al/);
    toUa(front, ua, reply(bye, 200, 'OK'));
    assert.equal((await byeDone).status, 200);
    assert.equal(ua.dialogOf('call1'), undefined);

    toUa(front, ua, invite('slow1', 'z9hG4bKinv2'));
    await front.waitFor((m) => statusOf(m) === 100 && m.includes('Call-ID: slow1'), 5000, '100 to the slow INVITE');
    toUa(front, ua, invite('slow1', 'z9hG4bKinv2').replace(/^INVITE/, 'CANCEL').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL'));
    const canceled = await front.waitFor((m) => statusOf(m) === 487 && m.includes('Call-ID: slow1'), 5000, '487');
    assert.match(headerOf(canceled, 'CSeq') ?? '', /INVITE/);
    assert.ok(front.received.some((m) => statusOf(m) === 200 && m.includes('Call-ID: slow1') && /CSeq: 1 CANCEL/.test(m)), '200 to the CANCEL');
    release?.();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!front.received.some((m) => statusOf(m) === 200 && m.includes('Call-ID: slow1') && /CSeq: 1 INVITE/.test(m)), 'no 2xx after the 487');
  });

  test('outgoing INVITE: 407 answered, 2xx acknowledged along the Record-Route (again when retransmitted), BYE; a deadline after 180 sends CANCEL', async () => {
    const { ua, front, clock } = await rig();
    const reg = ua.register('carol', 'pw', 600);
    toUa(front, ua, reply(await front.waitFor((m) => m.startsWith('REGISTER ')), 200, 'OK'));
    await reg;
    const offer = 'v=0\r\no=carol 1 1 IN IP4 127.0.0.1\r\n';
    const calling = ua.request({ method: 'INVITE', to: 'x', body: offer, contentType: 'application/sdp' }, `sip:dave@${DOMAIN}`);
    const i1 = await front.waitFor((m) => m.startsWith('INVITE '), 5000, 'INVITE');
    assert.match(headerOf(i1, 'Contact') ?? '', /sip:carol@127\.0\.0\.1/);
    toUa(front, ua, reply(i1, 407, 'Proxy Authentication Required', [`Proxy-Authenticate: Digest realm="${DOMAIN}", nonce="n9", qop="auth", algorithm=MD5, opaque="op1"`]));
    await front.waitFor((m) => m.startsWith('ACK ') && m.includes('CSeq: 1 ACK'), 5000, 'the transaction ACKs the 407');
    const i2 = await front.waitFor((m) => m.startsWith('INVITE ') && /^Proxy-Authorization:/im.test(m), 5000, 'INVITE with credentials');
    checkDigest(headerOf(i2, 'Proxy-Authorization')!, 'pw', 'INVITE');
    toUa(front, ua, reply(i2, 180, 'Ringing', [], 'dave1'));
    const ok = reply(i2, 200, 'OK', [`Record-Route: <sip:127.0.0.1:${front.port};lr>`, `Contact: <sip:dave@127.0.0.1:${front.port}>`, 'Content-Type: application/sdp'], 'dave1').replace('Content-Length: 0\r\n\r\n', 'Content-Length: 5\r\n\r\nv=0\r\n');
    toUa(front, ua, ok);
    const r = await calling;
    assert.equal(r.status, 200);
    assert.equal(r.dialog?.remoteSdp, 'v=0\r\n');
    assert.equal(r.dialog?.remote, `sip:dave@${DOMAIN}`);
    const acks = (): string[] => front.received.filter((m) => m.startsWith('ACK sip:dave@127.0.0.1'));
    await until(() => acks().length === 1);
    assert.match(headerOf(acks()[0]!, 'Route') ?? '', /lr/, 'the ACK follows the route set');
    assert.match(headerOf(acks()[0]!, 'CSeq') ?? '', /^2 ACK$/);
    toUa(front, ua, ok);
    await until(() => acks().length === 2);
    await new Promise((res) => setTimeout(res, 50));
    assert.ok(!front.received.some((m) => m.startsWith('BYE ')), 'the retransmitted 2xx of our dialog is only acknowledged');
    const ending = r.dialog!.bye();
    const bye = await front.waitFor((m) => m.startsWith('BYE sip:dave@'), 5000, 'BYE');
    toUa(front, ua, reply(bye, 200, 'OK'));
    assert.equal((await ending).status, 200);

    const late = ua.request({ method: 'INVITE', to: 'x', body: offer, contentType: 'application/sdp', timeoutMs: 3_000 }, `sip:erin@${DOMAIN}`);
    const i3 = await front.waitFor((m) => m.startsWith('INVITE sip:erin'), 5000, 'INVITE erin');
    toUa(front, ua, reply(i3, 180, 'Ringing', [], 'erin1'));
    await new Promise((res) => setTimeout(res, 50));
    clock.advance(3_000);
    assert.equal((await late).status, 408);
    const cancel = await front.waitFor((m) => m.startsWith('CANCEL sip:erin'), 5000, 'CANCEL');
    assert.equal(headerOf(cancel, 'Via'), headerOf(i3, 'Via'), 'the CANCEL has the INVITE\'s top Via (RFC 3261 §9.1)');
    assert.match(headerOf(cancel, 'CSeq') ?? '', /^1 CANCEL$/);
    // a 2xx that crosses the CANCEL: acknowledged and ended with BYE
    toUa(front, ua, reply(i3, 200, 'OK', [`Contact: <sip:erin@127.0.0.1:${front.port}>`], 'erin1'));
    await front.waitFor((m) => m.startsWith('ACK sip:erin@127.0.0.1'), 5000, 'ACK of the late 2xx');
    await front.waitFor((m) => m.startsWith('BYE sip:erin@'), 5000, 'BYE of the late 2xx');
  });

  test('the bounds: MAX_USERS, MAX_PENDING_REQUESTS, MAX_PENDING_INCOMING (503), MAX_DIALOGS (486)', async () => {
    const { ua, front } = await rig();
    // the front answers every REGISTER 200 and every MESSAGE never
    front.socket.on('message', (buf) => {
      const m = buf.toString('latin1');
      if (m.startsWith('REGISTER ')) toUa(front, ua, reply(m, 200, 'OK'));
    });
    for (let i = 0; i < MAX_USERS; i++) await ua.register(`u${i}`, undefined, 600);
    await assert.rejects(ua.register('one-more', undefined, 600), (e: unknown) => e instanceof P2psipApiError && e.code === 'limit');
    await ua.register('u0', undefined, 600); // a known user refreshes: not counted again

    const pending = Array.from({ length: MAX_PENDING_REQUESTS }, (_, i) => ua.request({ method: 'MESSAGE', to: 'x' }, `sip:p${i}@${DOMAIN}`));
    await assert.rejects(ua.request({ method: 'MESSAGE', to: 'x' }, `sip:over@${DOMAIN}`), (e: unknown) => e instanceof P2psipApiError && e.code === 'limit');
    void Promise.allSettled(pending);

    // requests to our users: a handler that never answers holds MAX_PENDING_INCOMING of them
    const held: Array<() => void> = [];
    ua.setHandler((r) => (r.method === 'MESSAGE' ? new Promise((resolve) => held.push(() => resolve(200))) : { status: 200, body: 'v=0\r\n', contentType: 'application/sdp' }));
    const inbound = (method: string, n: number): string =>
      [`${method} sip:u1@127.0.0.1:${ua.local.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${front.port};branch=z9hG4bKb${method}${n}`, 'Max-Forwards: 69', `From: <sip:x@${DOMAIN}>;tag=x${n}`, `To: <sip:u1@${DOMAIN}>`, `Call-ID: b${method}${n}`, `CSeq: 1 ${method}`, `Contact: <sip:x@127.0.0.1:${front.port}>`, 'Content-Length: 0', '', ''].join('\r\n');
    for (let i = 0; i < MAX_PENDING_INCOMING; i += 32) {
      for (let k = i; k < i + 32; k++) toUa(front, ua, inbound('MESSAGE', k));
      await until(() => held.length === i + 32);
    }
    toUa(front, ua, inbound('MESSAGE', MAX_PENDING_INCOMING));
    const busy = await front.waitFor((m) => m.includes(`Call-ID: bMESSAGE${MAX_PENDING_INCOMING}`), 5000, '503');
    assert.equal(statusOf(busy), 503);
    assert.equal(headerOf(busy, 'Retry-After'), '5');

    // released in batches: a burst of 256 answers would overflow the probe socket's receive buffer
    const answered = (prefix: string, status: number): number => front.received.filter((m) => statusOf(m) === status && m.includes(`Call-ID: ${prefix}`)).length;
    for (let i = 0; i < held.length; i += 32) {
      for (const release of held.slice(i, i + 32)) release();
      await until(() => answered('bMESSAGE', 200) === Math.min(i + 32, held.length));
    }

    // sessions: MAX_DIALOGS INVITEs answered 2xx (sessions kept), then 486
    const sessions = (): number => new Set(front.received.filter((m) => statusOf(m) === 200 && m.includes('Call-ID: bINVITE')).map((m) => headerOf(m, 'Call-ID'))).size;
    for (let i = 0; i < MAX_DIALOGS; i += 32) {
      for (let k = i; k < i + 32; k++) toUa(front, ua, inbound('INVITE', k));
      await until(() => sessions() === i + 32);
    }
    toUa(front, ua, inbound('INVITE', MAX_DIALOGS));
    const full = await front.waitFor((m) => statusOf(m) !== undefined && statusOf(m)! >= 200 && m.includes(`Call-ID: bINVITE${MAX_DIALOGS}`), 5000, '486');
    assert.equal(statusOf(full), 486);
    await assert.rejects(ua.request({ method: 'INVITE', to: 'x' }, `sip:y@${DOMAIN}`), (e: unknown) => e instanceof P2psipApiError && e.code === 'limit');
  });

  test('bad arguments and bounds: methods, user names, headers, body size, expiry', async () => {
    const { ua } = await rig();
    const code = (c: string) => (e: unknown) => e instanceof P2psipApiError && e.code === c;
    const to = `sip:bob@${DOMAIN}`;
    await assert.rejects(ua.request({ method: 'REGISTER', to }, to), code('bad-argument'));
    await assert.rejects(ua.request({ method: 'BYE', to }, to), code('bad-argument'));
    await assert.rejects(ua.request({ method: 'MES SAGE', to }, to), code('bad-argument'));
    await assert.rejects(ua.request({ method: 'MESSAGE', to, body: new Uint8Array(MAX_REQUEST_BODY_BYTES + 1) }, to), code('limit'));
    await assert.rejects(ua.request({ method: 'MESSAGE', to, headers: [['X-A', 'a\r\nVia: evil']] }, to), code('bad-argument'));
    await assert.rejects(ua.request({ method: 'MESSAGE', to, headers: [['Via', 'x']] }, to), code('bad-argument'));
    await assert.rejects(ua.request({ method: 'MESSAGE', to, headers: Array.from({ length: MAX_EXTRA_HEADERS + 1 }, (_, i) => [`X-${i}`, 'v'] as const) }, to), code('bad-argument'));
    await assert.rejects(ua.request({ method: 'MESSAGE', to, timeoutMs: 0 }, to), code('bad-argument'));
    await assert.rejects(ua.request({ method: 'MESSAGE', to, from: 'nobody' }, to), code('bad-argument'));
    await assert.rejects(ua.register('al ice', 'x'), code('bad-argument'));
    await assert.rejects(ua.register('alice', 'x', 10), code('bad-argument'));
    await assert.rejects(ua.unregister('alice'), code('bad-argument'));
  });
});

/** Waits (bounded, 5 s) for a condition the test's own sockets bring about. */
async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached within 5 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

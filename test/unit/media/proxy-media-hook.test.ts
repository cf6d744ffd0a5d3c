/**
 * The proxy's side of issue 13: a ProxyCore (in a SipPeer on the in-memory network) with a recording
 * fake MediaHook sees every forwarded request (INVITE, ACK for a 2xx statelessly, BYE) and every
 * response going upstream (18x, 2xx, local finals, stray 2xx retransmissions); what the hook returns
 * is what is sent; a refusal is the final response upstream.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MediaHook, MediaRefusal } from '../../../src/sip/core/media-hook.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message/sip-message.js';
import type { TransportAddress } from '../../../src/sip/transport/sip-transport.js';
import { advance } from '../../support/settle.js';
import { type Phone, SipWorld } from '../sip/core/sip-test-network.js';


interface SeenRequest {
  method: string;
  body: string;
  receivedBody: string;
  from: TransportAddress;
  to: TransportAddress;
}
interface SeenResponse {
  status: number;
  cseq: string;
  body: string;
  to: TransportAddress;
}

/** Records calls; marks bodies so a test sees the hook's copy arrive; refuses on demand. */
class RecordingHook implements MediaHook {
  readonly requests: SeenRequest[] = [];
  readonly responses: SeenResponse[] = [];
  refuse: ((out: SipRequest) => MediaRefusal | undefined) | undefined;

  request(out: SipRequest, received: SipRequest, from: TransportAddress, to: TransportAddress): MediaRefusal | undefined {
    this.requests.push({ method: out.method, body: Buffer.from(out.body).toString(), receivedBody: Buffer.from(received.body).toString(), from: { ...from }, to: { ...to } });
    const r = this.refuse?.(out);
    if (r !== undefined) {
      out.body = Buffer.from('half-rewritten');
      return r;
    }
    if (out.body.length > 0) out.body = Buffer.from(`${Buffer.from(out.body).toString()}|req-hook`);
    return undefined;
  }

  response(res: SipResponse, to: TransportAddress): SipResponse {
    this.responses.push({ status: res.status, cseq: res.headers.get('cseq') ?? '', body: Buffer.from(res.body).toString(), to: { ...to } });
    if (res.body.length === 0) return res;
    return { ...res, body: Buffer.from(`${Buffer.from(res.body).toString()}|res-hook`) };
  }
}

/** The SIP test world with a recording hook in its proxy. */
class MediaWorld extends SipWorld {
  readonly hook: RecordingHook;

  constructor() {
    const hook = new RecordingHook();
    super(undefined, { mode: 'none' }, () => ({ media: hook }));
    this.hook = hook;
  }
}

const SDP_CT = ['Content-Type: application/sdp'];
const body = (m: { body: Uint8Array }): string => Buffer.from(m.body).toString();

describe('ProxyCore with a MediaHook', () => {
  let w: MediaWorld;
  let alice: Phone;
  let bob: Phone;
  beforeEach(async () => {
    w = new MediaWorld();
    await w.start();
    alice = await w.phone('alice');
    bob = await w.phone('bob');
    bob.register();
    await w.settle();
  });
  afterEach(async () => w.stop());

  test('INVITE, 180, 183, 200, ACK (stateless) and BYE all pass through the hook; its copies are what is sent', async () => {
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'c1', cseq: 1, body: 'offer', extra: SDP_CT }));
    await w.settle();
    const inv = bob.requests('INVITE')[0]!;
    assert.equal(body(inv), 'offer|req-hook', 'the hook’s body reaches the callee');
    assert.deepEqual(
      w.hook.requests.map((r) => [r.method, r.receivedBody, r.from.host, r.to.host, r.to.port]),
      [['INVITE', 'offer', alice.addr.host, bob.addr.host, 5060]],
    );
    bob.reply(inv, 180);
    bob.reply(inv, 183);
    await w.settle();
    bob.reply(inv, 200);
    await w.settle();
    assert.equal(alice.responses(200).length, 1);
    assert.deepEqual(
      w.hook.responses.map((r) => [r.status, r.cseq, r.to.host]),
      [
        [180, '1 INVITE', alice.addr.host],
        [183, '1 INVITE', alice.addr.host],
        [200, '1 INVITE', alice.addr.host],
      ],
      '100 Trying is ours and does not go through the hook',
    );
    const route = alice.responses(200)[0]!.headers.get('record-route')!;
    alice.sendText(alice.request('ACK', bob.contact, { callId: 'c1', cseq: 1, toTag: 'bob-tt', body: 'answer', extra: [...SDP_CT, `Route: ${route}`] }));
    await w.settle();
    assert.equal(body(bob.requests('ACK')[0]!), 'answer|req-hook', 'ACK for a 2xx: the hook saw it and rewrote it');
    assert.equal(w.hook.requests[1]!.method, 'ACK');
    assert.equal(w.peer.proxy.stats().stateless.acksForwarded, 1);
    alice.sendText(alice.request('BYE', bob.contact, { callId: 'c1', cseq: 2, toTag: 'bob-tt', extra: [`Route: ${route}`] }));
    await w.settle();
    assert.equal(w.hook.requests[2]!.method, 'BYE');
  });

  test('a response with a body reaches the caller as the hook returned it', async () => {
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'c2', body: 'offer', extra: SDP_CT }));
    await w.settle();
    const inv = bob.requests('INVITE')[0]!;
    bob.sendText(
      [
        'SIP/2.0 200 OK',
        ...inv.headers.getAll('via').map((v) => `Via: ${v}`),
        `From: ${inv.headers.get('from')}`,
        `To: ${inv.headers.get('to')};tag=bt`,
        'Call-ID: c2',
        `CSeq: ${inv.headers.get('cseq')}`,
        `Contact: <${bob.contact}>`,
        'Content-Type: application/sdp',
        'Content-Length: 6',
        '',
        'answer',
      ].join('\n'),
    );
    await w.settle();
    assert.equal(body(alice.responses(200)[0]!), 'answer|res-hook');
  });

  test('a 2xx retransmitted after the transactions ended (stateless) goes through the hook too', async () => {
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'c3' }));
    await w.settle();
    const ok = bob.reply(bob.requests('INVITE')[0]!, 200);
    await w.settle();
    await advance(w.clock, 40_000, 1_000, w.network);
    const before = w.hook.responses.length;
    bob.send(ok);
    await w.settle();
    assert.equal(alice.responses(200).length, 2);
    assert.equal(w.hook.responses.length, before + 1);
    assert.equal(w.hook.responses[before]!.to.host, alice.addr.host);
  });

  test('a refusal (488 + Warning) is the final response upstream; nothing goes downstream; the hook sees that final', async () => {
    w.hook.refuse = () => ({ status: 488, reason: 'Not Acceptable Here - SDP has 1000 m-lines', headers: [['Warning', '399 p2psip "SDP has 1000 m-lines"']] });
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'c4', body: 'offer', extra: SDP_CT }));
    await w.settle();
    assert.equal(bob.requests('INVITE').length, 0);
    const r = alice.responses(488)[0];
    assert.ok(r, `a 488, got ${alice.inbox.map((m) => (m.kind === 'response' ? m.status : m.method)).join(',')}`);
    assert.equal(r.headers.get('warning'), '399 p2psip "SDP has 1000 m-lines"');
    assert.match(r.reason, /m-lines/);
    assert.deepEqual(w.hook.responses.map((x) => x.status), [488], 'the hook learns the INVITE failed (it releases)');
  });

  test(
    'a refusal 503 + Retry-After (no ports) reaches the caller as 503 with Retry-After',
    async () => {
      w.hook.refuse = () => ({ status: 503, reason: 'Service Unavailable - the media port range is exhausted', headers: [['Retry-After', '5']] });
      alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'c5', body: 'offer', extra: SDP_CT }));
      await w.settle();
      const r = alice.responses(503)[0];
      assert.ok(r, `a 503, got ${alice.inbox.map((m) => (m.kind === 'response' ? `${m.status} ${m.reason}` : m.method)).join(',')}`);
      assert.equal(r.headers.get('retry-after'), '5');
    },
  );

  test('a refused ACK is forwarded with the body it came with', async () => {
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'c6' }));
    await w.settle();
    bob.reply(bob.requests('INVITE')[0]!, 200);
    await w.settle();
    const route = alice.responses(200)[0]!.headers.get('record-route')!;
    w.hook.refuse = (out) => (out.method === 'ACK' ? { status: 488, reason: 'Not Acceptable Here' } : undefined);
    alice.sendText(alice.request('ACK', bob.contact, { callId: 'c6', cseq: 1, toTag: 'bob-tt', body: 'bad answer', extra: [...SDP_CT, `Route: ${route}`] }));
    await w.settle();
    assert.equal(body(bob.requests('ACK')[0]!), 'bad answer');
  });
});

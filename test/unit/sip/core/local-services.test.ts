/**
 * Issue 16: the seam between the proxy and the peer's services (local-services.ts) and the proxy's
 * own requests (ProxyCore.originate), on the in-memory SIP network.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SipWorld } from './sip-test-network.js';
import { createResponse } from '../../../../src/sip/message/index.js';
import { parseUri, SipHeaders } from '../../../../src/sip/message/index.js';
import type { LocalServices, ServiceRequest } from '../../../../src/sip/core/local-services.js';
import { combineServices } from '../../../../src/sip/core/local-services.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message.js';

/** A service that claims PUBLISH and keeps MESSAGEs after 404/480, recording what it was asked. */
class RecordingService implements LocalServices {
  readonly claims: ServiceRequest[] = [];
  readonly diverts: Array<{ r: ServiceRequest; status: number }> = [];
  claim(r: ServiceRequest): boolean {
    this.claims.push(r);
    if (r.request.method !== 'PUBLISH') return false;
    r.tx.respond(createResponse(r.tx.request, 200, 'OK', { toTag: r.toTag, headers: [['SIP-ETag', 'e1']] }));
    return true;
  }
  divert(r: ServiceRequest, status: number): boolean {
    this.diverts.push({ r, status });
    if (r.request.method !== 'MESSAGE' || r.fromPeer) return false;
    r.tx.respond(createResponse(r.tx.request, 202, 'Accepted', { toTag: r.toTag }));
    return true;
  }
}

describe('local services: claim, divert, originate', () => {
  let w: SipWorld;
  let service: RecordingService;
  afterEach(async () => w.stop());
  const start = async (): Promise<void> => {
    service = new RecordingService();
    w = new SipWorld(undefined, { mode: 'none' }, () => ({ services: service }));
    await w.start();
  };

  test('a claimed request is answered by the service and never routed; others go on', async () => {
    await start();
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    bob.register();
    alice.sendText(alice.request('PUBLISH', 'sip:alice@p2psip.local', { extra: ['Event: presence'] }));
    await w.settle();
    assert.equal(alice.responses(200).length, 1);
    assert.equal(alice.responses(200)[0]!.headers.get('sip-etag'), 'e1');
    const seen = service.claims.find((c) => c.request.method === 'PUBLISH')!;
    assert.equal(seen.aor, 'sip:alice@p2psip.local');
    assert.equal(seen.fromPeer, false);
    // an OPTIONS to bob is asked about, not claimed, and reaches bob
    alice.sendText(alice.request('OPTIONS', 'sip:bob@p2psip.local'));
    await w.settle();
    assert.equal(bob.requests('OPTIONS').length, 1);
    assert.ok(service.claims.some((c) => c.request.method === 'OPTIONS'));
    // REGISTER is never offered
    assert.ok(!service.claims.some((c) => c.request.method === 'REGISTER'));
  });

  test('a MESSAGE with no registration (404) and one whose phone answers 480 are diverted; a 486 INVITE is not', async () => {
    await start();
    const alice = await w.phone('alice');
    alice.sendText(alice.request('MESSAGE', 'sip:nobody@p2psip.local', { body: 'hi' }));
    await w.settle();
    assert.equal(alice.responses(202).length, 1, 'kept instead of 404');
    assert.equal(service.diverts[0]!.status, 404);
    const bob = await w.phone('bob');
    bob.register();
    await w.settle();
    alice.sendText(alice.request('MESSAGE', 'sip:bob@p2psip.local', { body: 'hi bob' }));
    await w.settle();
    bob.reply(bob.requests('MESSAGE')[0]!, 480);
    await w.settle();
    assert.equal(alice.responses(202).length, 2, 'kept instead of the 480');
    assert.equal(alice.responses(480).length, 0);
    assert.equal(service.diverts[1]!.status, 480);
    // the service declines: the failure goes upstream as before
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local'));
    await w.settle();
    bob.reply(bob.requests('INVITE')[0]!, 486);
    await w.settle();
    assert.equal(alice.responses(486).length, 1);
    assert.equal(service.diverts[2]!.status, 486);
  });

  test('originate: the proxy\'s own MESSAGE reaches a registered phone and resolves its answer; 404 without one', async () => {
    await start();
    const bob = await w.phone('bob');
    bob.register();
    await w.settle();
    const message = (to: string): SipRequest => ({
      kind: 'request',
      method: 'MESSAGE',
      uri: parseUri(to),
      version: 'SIP/2.0',
      headers: new SipHeaders([
        ['From', '<sip:carol@elsewhere.example>;tag=1'],
        ['To', `<${to}>`],
        ['Call-ID', 'orig-1'],
        ['CSeq', '1 MESSAGE'],
        ['Max-Forwards', '70'],
        ['Content-Length', '0'],
      ]),
      body: new Uint8Array(0),
    });
    let answer: SipResponse | undefined;
    void w.peer.proxy.originate(message('sip:bob@p2psip.local')).then((r) => (answer = r));
    await w.settle();
    const got = bob.requests('MESSAGE')[0]!;
    assert.ok(got, 'bob got it');
    assert.equal(got.headers.getAll('via').length, 2, "the proxy's Via over the originator's");
    bob.reply(got, 200);
    await w.settle();
    assert.equal(answer?.status, 200);
    let missing: SipResponse | undefined;
    void w.peer.proxy.originate(message('sip:nobody@p2psip.local')).then((r) => (missing = r));
    await w.settle();
    assert.equal(missing?.status, 404);
    assert.equal(service.diverts.length, 0, 'the proxy\'s own requests are never offered to the services');
  });

  test('no answer within the ring time: the branches are CANCELled and the call offered to divert with 408; else 480', async () => {
    service = new RecordingService();
    let takeCall = true;
    const ringing: LocalServices = {
      claim: () => false,
      divert: (r, status) => {
        service.diverts.push({ r, status });
        if (!takeCall || r.request.method !== 'INVITE') return false;
        r.tx.respond(createResponse(r.tx.request, 200, 'OK', { toTag: r.toTag }));
        return true;
      },
      noAnswerMs: (r) => (r.request.method === 'INVITE' ? 20_000 : undefined),
    };
    w = new SipWorld(undefined, { mode: 'none' }, () => ({ services: ringing }));
    await w.start();
    const alice = await w.phone('alice');
    const bob = await w.phone('bob');
    bob.register();
    await w.settle();
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local'));
    await w.settle();
    const invite = bob.requests('INVITE')[0]!;
    bob.reply(invite, 180);
    await w.advance(19_000);
    assert.equal(bob.requests('CANCEL').length, 0, 'still ringing before the time');
    await w.advance(1_100);
    assert.equal(bob.requests('CANCEL').length, 1, 'cancelled at the ring time');
    bob.reply(bob.requests('CANCEL')[0]!, 200);
    bob.reply(invite, 487);
    await w.settle();
    assert.equal(service.diverts.at(-1)!.status, 408);
    assert.equal(alice.responses(200).length, 1, 'the service took the call');
    assert.equal(alice.responses(487).length, 0);
    // the service declines: the caller is told there was no answer
    takeCall = false;
    alice.sendText(alice.request('INVITE', 'sip:bob@p2psip.local', { callId: 'second' }));
    await w.settle();
    const second = bob.requests('INVITE')[1]!;
    bob.reply(second, 180);
    await w.advance(20_100);
    bob.reply(bob.requests('CANCEL')[1]!, 200);
    bob.reply(second, 487);
    await w.settle();
    const r480 = alice.responses(480)[0];
    assert.ok(r480, 'a 480');
    assert.match(r480.reason, /No answer/);
  });

  test('combineServices: the first that claims answers', () => {
    assert.equal(combineServices([]), undefined);
    const calls: string[] = [];
    const s = (name: string, claims: boolean): LocalServices => ({
      claim: () => (calls.push(name), claims),
      divert: () => false,
    });
    const both = combineServices([s('a', false), s('b', true), s('c', true)])!;
    assert.equal(both.claim({} as ServiceRequest), true);
    assert.deepEqual(calls, ['a', 'b']);
  });
});

/**
 * The outbound proxy (`--outbound sip:<proxy>`): requests for AoRs outside our domains go to it,
 * but a request that arrives along our own Record-Route goes to its Request-URI, the dialog's
 * remote target (RFC 3261 §16.12) — found with Kamailio in front of the overlay, where a BYE from
 * Kamailio's side was sent back to Kamailio instead of to the phone.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUri, isSipUri } from '../../../../src/sip/message/index.js';
import { PEER_HOST, SipWorld } from './sip-test-network.js';

function outboundUri(text: string) {
  const uri = parseUri(text);
  if (!isSipUri(uri)) throw new Error('not a SIP URI');
  return uri;
}

describe('outbound proxy policy (RFC 3261 §16.5, §16.12)', () => {
  let w: SipWorld;
  beforeEach(async () => {
    // The first phone of the world is 198.18.1.1:5060: it plays the outbound proxy.
    w = new SipWorld(undefined, { mode: 'proxy', uri: outboundUri('sip:198.18.1.1:5060') });
    await w.start();
  });
  afterEach(async () => w.stop());

  test('a request for a foreign domain goes to the outbound proxy', async () => {
    const proxy = await w.phone('proxy');
    const alice = await w.phone('alice');
    alice.sendText(alice.request('MESSAGE', 'sip:bob@elsewhere.test', { callId: 'm1' }));
    await w.settle();
    const got = proxy.requests('MESSAGE')[0];
    assert.ok(got, 'the outbound proxy got the MESSAGE');
    assert.equal(isSipUri(got.uri) ? got.uri.host : '', 'elsewhere.test');
  });

  test('a BYE arriving along our Record-Route goes to the phone, not to the outbound proxy', async () => {
    const proxy = await w.phone('proxy');
    const alice = await w.phone('alice');
    alice.register();
    await w.settle();
    // The caller sits behind the outbound proxy (it sends from there).
    proxy.sendText(proxy.request('INVITE', 'sip:alice@p2psip.local', { callId: 'c1', cseq: 1 }));
    await w.settle();
    const inv = alice.requests('INVITE')[0];
    assert.ok(inv, 'alice got the INVITE');
    alice.reply(inv, 200);
    await w.settle();
    const ok = proxy.responses(200)[0];
    assert.ok(ok);
    const route = ok.headers.get('record-route')!;
    assert.match(route, new RegExp(PEER_HOST));
    proxy.sendText(proxy.request('ACK', alice.contact, { callId: 'c1', cseq: 1, toTag: 'alice-tt', extra: [`Route: ${route}`] }));
    proxy.sendText(proxy.request('BYE', alice.contact, { callId: 'c1', cseq: 2, toTag: 'alice-tt', extra: [`Route: ${route}`] }));
    await w.settle();
    assert.equal(alice.requests('ACK').length, 1, 'ACK relayed to alice');
    const bye = alice.requests('BYE')[0];
    assert.ok(bye, 'BYE relayed to alice');
    assert.equal(proxy.requests('BYE').length, 0, 'nothing looped back to the outbound proxy');
    alice.reply(bye, 200);
    await w.settle();
    assert.equal(proxy.responses(200).filter((r) => r.headers.get('cseq') === '2 BYE').length, 1);
  });
});

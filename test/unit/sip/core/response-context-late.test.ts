/**
 * Issue 18: targets found later (the AoR's phones at other peers) join a running fork; the phones
 * known at once do not wait for them, and no best final response is chosen while they are looked up.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { ResponseContext } from '../../../../src/sip/core/response-context.js';
import type { ProxyTarget } from '../../../../src/sip/core/proxy-target.js';
import { createResponse, parseMessage, parseUri } from '../../../../src/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message.js';
import type { ClientTransaction, ClientTransactionUser, ServerTransaction } from '../../../../src/sip/transaction/transaction-contract.js';

function invite(): SipRequest {
  const text = ['INVITE sip:alice@p2psip.local SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKlate1', 'Max-Forwards: 70', 'From: <sip:carol@p2psip.local>;tag=c1', 'To: <sip:alice@p2psip.local>', 'Call-ID: late-1', 'CSeq: 1 INVITE', 'Contact: <sip:carol@192.0.2.1>', 'Content-Length: 0', '', ''].join('\r\n');
  const r = parseMessage(Buffer.from(text), { datagram: true });
  assert.ok(r.ok && r.message.kind === 'request');
  return r.message as SipRequest;
}

const target = (host: string): ProxyTarget => ({ uri: parseUri(`sip:alice@${host}`), q: 1, via: undefined });

function setup(extra: { noAnswerMs?: number; divert?: (status: number) => boolean; clock?: ManualClock } = {}): { ctx: ResponseContext; upstream: SipResponse[]; branches: Map<string, { req: SipRequest; user: ClientTransactionUser }>; flush: () => Promise<void>; first: ProxyTarget; cancels: string[] } {
  const req = invite();
  const first = target('192.0.2.10');
  const cancels: string[] = [];
  const upstream: SipResponse[] = [];
  const phone = { protocol: 'udp', host: '192.0.2.1', port: 5060 } as const;
  const server = { id: 's', request: req, inbound: { message: req, source: phone, local: phone, flowId: undefined }, isInvite: true, state: 'proceeding', finalResponse: undefined, onTerminated: undefined, respond: (r: SipResponse) => upstream.push(r) } as unknown as ServerTransaction;
  const branches = new Map<string, { req: SipRequest; user: ClientTransactionUser }>();
  const ctx = new ResponseContext(
    {
      clock: extra.clock ?? new ManualClock(0),
      ...(extra.divert === undefined ? {} : { divert: extra.divert }),
      prepare: async (t) => {
        const headers = req.headers.clone();
        headers.prepend('Via', `SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKproxy${(t.uri as { host: string }).host}`);
        return { ok: true, request: { ...req, uri: t.uri, headers }, target: { destination: { protocol: 'udp', host: '192.0.2.9', port: 5060 } } };
      },
      sendRequest: (r, t, user) => {
        if (r.method === 'CANCEL') cancels.push((r.uri as { host: string }).host);
        else branches.set((r.uri as { host: string }).host, { req: r, user });
        return { id: `c-${branches.size}`, request: r, target: t, state: 'calling', isInvite: true, terminate: () => {} } as unknown as ClientTransaction;
      },
    },
    server,
    [first],
    { timerC: 180_000, ...(extra.noAnswerMs === undefined ? {} : { noAnswerMs: extra.noAnswerMs }) },
    'tag1',
  );
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  return { ctx, upstream, branches, flush, first, cancels };
}

const answer = (b: { req: SipRequest; user: ClientTransactionUser }, status: number): void => {
  const res = createResponse(b.req, status, status === 200 ? 'OK' : 'Busy Here', { toTag: `t${status}` });
  b.user.onResponse(res, {} as ClientTransaction);
};

describe('ResponseContext: late targets', () => {
  test('the local phone rings at once; its 486 waits for the late targets, whose 200 wins', async () => {
    const { ctx, upstream, branches, flush } = setup();
    let deliver!: (t: ProxyTarget[]) => void;
    ctx.start();
    ctx.expect(new Promise((r) => (deliver = r)));
    await flush();
    assert.deepEqual([...branches.keys()], ['192.0.2.10'], 'the local phone did not wait');
    answer(branches.get('192.0.2.10')!, 486);
    await flush();
    assert.equal(upstream.filter((r) => r.status >= 200).length, 0, 'no best final while targets are looked up');
    deliver([target('192.0.2.20')]);
    await flush();
    assert.ok(branches.has('192.0.2.20'));
    answer(branches.get('192.0.2.20')!, 200);
    await flush();
    assert.deepEqual(upstream.filter((r) => r.status >= 200).map((r) => r.status), [200]);
  });

  test('a 200 before the late targets: they are never tried; none found: the best final goes', async () => {
    const a = setup();
    let deliver!: (t: ProxyTarget[]) => void;
    a.ctx.start();
    a.ctx.expect(new Promise((r) => (deliver = r)));
    await a.flush();
    answer(a.branches.get('192.0.2.10')!, 200);
    deliver([target('192.0.2.20')]);
    await a.flush();
    assert.equal(a.branches.has('192.0.2.20'), false);
    assert.deepEqual(a.upstream.filter((r) => r.status >= 200).map((r) => r.status), [200]);

    const b = setup();
    b.ctx.start();
    b.ctx.expect(Promise.resolve([]));
    await b.flush();
    answer(b.branches.get('192.0.2.10')!, 486);
    await b.flush();
    assert.deepEqual(b.upstream.filter((r) => r.status >= 200).map((r) => r.status), [486]);
  });

  test('a CANCEL while targets are looked up ends the search at once (487)', async () => {
    const { ctx, upstream, branches, flush } = setup();
    ctx.start();
    ctx.expect(new Promise<ProxyTarget[]>(() => {}));
    await flush();
    const b = branches.get('192.0.2.10')!;
    b.user.onResponse(createResponse(b.req, 180, 'Ringing', { toTag: 't180' }), {} as ClientTransaction);
    ctx.cancel();
    await flush();
    // the branch is CANCELled; its 487 ends it
    b.user.onResponse(createResponse(b.req, 487, 'Request Terminated', { toTag: 't180' }), {} as ClientTransaction);
    await flush();
    assert.deepEqual(upstream.filter((r) => r.status >= 200).map((r) => r.status), [487]);
  });

  test('a target found stale (abandon) ends as 404 at once; its later answer is ignored', async () => {
    const { ctx, upstream, branches, flush, first, cancels } = setup();
    ctx.start();
    ctx.expect(Promise.resolve([]));
    ctx.abandon(Promise.resolve([first]));
    await flush();
    const finals = upstream.filter((r) => r.status >= 200);
    assert.deepEqual(finals.map((r) => [r.status, r.reason]), [[404, 'Not Found - No longer registered there']]);
    assert.deepEqual(cancels, [], 'no provisional: nothing to CANCEL');
    answer(branches.get('192.0.2.10')!, 486);
    await flush();
    assert.equal(upstream.filter((r) => r.status >= 200).length, 1);
  });

  test('abandoned after its 180: CANCELled, and the late target found instead answers', async () => {
    const { ctx, upstream, branches, flush, first, cancels } = setup();
    let deliver!: (t: ProxyTarget[]) => void;
    let gone!: (t: ProxyTarget[]) => void;
    ctx.start();
    ctx.expect(new Promise((r) => (deliver = r)));
    ctx.abandon(new Promise((r) => (gone = r)));
    await flush();
    const b = branches.get('192.0.2.10')!;
    b.user.onResponse(createResponse(b.req, 180, 'Ringing', { toTag: 't180' }), {} as ClientTransaction);
    gone([first]);
    deliver([target('192.0.2.20')]);
    await flush();
    assert.deepEqual(cancels, ['192.0.2.10']);
    assert.equal(upstream.filter((r) => r.status >= 200).length, 0, 'the late target is still to answer');
    answer(branches.get('192.0.2.20')!, 200);
    await flush();
    assert.deepEqual(upstream.filter((r) => r.status >= 200).map((r) => r.status), [200]);
  });

  test('a branch abandoned while being prepared is never sent; nothing stale: nothing changes', async () => {
    const a = setup();
    a.ctx.abandon(Promise.resolve([a.first]));
    a.ctx.start(); // prepare is asynchronous: the branch is still being prepared when the stale list comes
    await a.flush();
    assert.equal(a.branches.size, 0);
    assert.deepEqual(a.upstream.filter((r) => r.status >= 200).map((r) => r.status), [404]);

    const b = setup();
    b.ctx.start();
    b.ctx.abandon(Promise.resolve([]));
    await b.flush();
    answer(b.branches.get('192.0.2.10')!, 486);
    await b.flush();
    assert.deepEqual(b.upstream.filter((r) => r.status >= 200).map((r) => r.status), [486]);
  });

  test('answered: the ring timer and Timer C stop at the 200, and what only the search needed is let go (issue 18)', async () => {
    const clock = new ManualClock(0);
    const asked: number[] = [];
    const { ctx, upstream, branches, flush } = setup({ clock, noAnswerMs: 20_000, divert: (status) => (asked.push(status), false) });
    ctx.start();
    await flush();
    const b = branches.get('192.0.2.10')!;
    const ringing = createResponse(b.req, 180, 'Ringing', { toTag: 't180' });
    b.user.onResponse(ringing, {} as ClientTransaction);
    assert.equal(clock.pendingTimers, 2, 'the ring time (voicemail on no answer) and Timer C');
    answer(b, 200);
    await flush();
    assert.equal(clock.pendingTimers, 0, 'a call in progress holds no timer of its search (it held the ring timer for 20 s)');
    assert.ok(ctx.finished);
    // the held fields are private: what matters is that nothing reaches the request through them
    const held = ctx as unknown as { divert: unknown; prepare: unknown };
    assert.equal(held.divert, undefined);
    assert.equal(held.prepare, undefined);
    // a 2xx retransmission still goes upstream (RFC 6026 §7.1)
    answer(b, 200);
    assert.deepEqual(upstream.map((r) => r.status), [180, 200, 200]);
    assert.deepEqual(asked, []);
  });
});

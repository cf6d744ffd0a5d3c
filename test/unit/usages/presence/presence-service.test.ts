import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../../src/lib/random.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/sip-message.js';
import type { CallDialog, CallStateSource } from '../../../../src/usages/presence/dialog-info.js';
import type { MessageSummarySource } from '../../../../src/usages/presence/message-summary.js';
import { parsePidf } from '../../../../src/usages/presence/pidf.js';
import { MemoryPresenceRuleStore } from '../../../../src/usages/presence/presence-authorization.js';
import type { PresenceHost, PresenceSource, PresenceState } from '../../../../src/usages/presence/presence-host.js';
import { PresenceService, type PresenceServiceOptions } from '../../../../src/usages/presence/presence-service.js';
import { BARESIP_PIDF, DOMAIN, LINPHONE_PIDF, bodyText, serviceRequest, settle, simplePidf, sipRequest, type RequestSpec } from './presence-fixtures.js';

const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;

/**
 * The overlay as the presence service sees it: per AoR, what each peer published (a dictionary
 * keyed by peer, like SIP-REGISTRATION's keyed by Node-ID), registrations, and change
 * notifications to the watching peers.
 */
class FakeOverlay {
  readonly published = new Map<string, Map<string, PresenceState>>();
  readonly registered = new Set<string>();
  private readonly watchers = new Map<string, Set<{ peer: string; cb: () => void }>>();
  publishes = 0;

  source(peer: string): PresenceSource {
    return {
      fetch: (aor) => {
        const all = this.published.get(aor) ?? new Map<string, PresenceState>();
        return Promise.resolve({ registered: this.registered.has(aor), published: [...all].filter(([p]) => p !== peer).map(([, s]) => s) });
      },
      publish: (aor, own) => {
        this.publishes++;
        let m = this.published.get(aor);
        if (m === undefined) this.published.set(aor, (m = new Map()));
        if (own.tuples.length === 0 && own.elements.length === 0) m.delete(peer);
        else m.set(peer, own);
        this.notify(aor, peer);
        return Promise.resolve();
      },
      watch: (aor, cb) => {
        let set = this.watchers.get(aor);
        if (set === undefined) this.watchers.set(aor, (set = new Set()));
        const w = { peer, cb };
        set.add(w);
        return () => {
          set.delete(w);
          if (set.size === 0) this.watchers.delete(aor);
        };
      },
    };
  }

  register(aor: string, yes: boolean): void {
    if (yes) this.registered.add(aor);
    else this.registered.delete(aor);
    this.notify(aor, undefined);
  }

  watching(aor: string): number {
    return this.watchers.get(aor)?.size ?? 0;
  }

  private notify(aor: string, except: string | undefined): void {
    for (const w of [...(this.watchers.get(aor) ?? [])]) if (w.peer !== except) w.cb();
  }
}

interface Peer {
  name: string;
  service: PresenceService;
  notifies: Array<{ at: number; request: SipRequest }>;
  answer: (r: SipRequest) => number;
}

function peer(name: string, overlay: FakeOverlay, clock: ManualClock, options: Partial<PresenceServiceOptions> = {}, extra: Partial<PresenceHost> = {}): Peer {
  const p: Peer = { name, service: undefined as unknown as PresenceService, notifies: [], answer: () => 200 };
  const host: PresenceHost = {
    clock,
    random: new SeededRandom(name.charCodeAt(0)),
    send: (request) => {
      p.notifies.push({ at: clock.now(), request });
      return Promise.resolve(p.answer(request));
    },
    localContact: () => `sip:192.0.2.${name === 'A' ? 1 : 2}:5060`,
    presence: overlay.source(name),
    ...extra,
  };
  p.service = new PresenceService(host, { requireAuth: true, ...options });
  return p;
}

/** Claims `spec` at `p`; returns whether it was claimed and the answer (after the service's promises ran). */
async function ask(p: Peer, spec: RequestSpec, o: { user?: string; aor?: string | null; fromPeer?: boolean } = {}): Promise<{ claimed: boolean; res: SipResponse | undefined; toTag: string }> {
  const { r, tx } = serviceRequest(sipRequest(spec), o);
  const claimed = p.service.claim(r);
  await settle();
  return { claimed, res: tx.finalResponse, toTag: r.toTag };
}

function publishSpec(body: string | undefined, headers: Array<[string, string]> = [], spec: Partial<RequestSpec> = {}): RequestSpec {
  return {
    method: 'PUBLISH',
    from: ALICE,
    callId: `pub-${Math.random()}`,
    headers: [['Event', 'presence'], ...(body === undefined ? [] : ([['Content-Type', 'application/pidf+xml']] as Array<[string, string]>)), ...headers],
    body,
    ...spec,
  };
}

function subscribeSpec(spec: Partial<RequestSpec> = {}, headers: Array<[string, string]> = [['Event', 'presence'], ['Accept', 'application/pidf+xml']]): RequestSpec {
  return { method: 'SUBSCRIBE', from: BOB, callId: 'watch-1', fromTag: 'bobtag', contact: 'sip:bob@192.0.2.30:5060', headers, ...spec };
}

function lastBasic(p: Peer): Array<string | undefined> {
  const n = p.notifies[p.notifies.length - 1]!.request;
  const d = parsePidf(bodyText(n));
  assert.ok(d.ok, d.ok ? '' : d.error.message);
  return d.document.tuples.map((t) => t.basic);
}

function header(res: SipResponse | undefined, name: string): string | undefined {
  return res?.headers.get(name);
}

describe('presence service: end to end over a shared overlay', () => {
  test('a PUBLISH at peer A reaches a watcher at peer B within 1 s', async () => {
    const clock = new ManualClock(0);
    const overlay = new FakeOverlay();
    const a = peer('A', overlay, clock);
    const b = peer('B', overlay, clock);

    // bob's phone, at B, watches alice
    const sub = await ask(b, subscribeSpec(), { user: BOB });
    assert.equal(sub.claimed, true);
    assert.equal(sub.res?.status, 200);
    assert.match(header(sub.res, 'to')!, new RegExp(`;tag=${sub.toTag}$`));
    assert.equal(header(sub.res, 'expires'), '3600');
    assert.equal(header(sub.res, 'contact'), '<sip:192.0.2.2:5060>');
    assert.equal(b.notifies.length, 1);
    assert.deepEqual(lastBasic(b), ['closed'], 'not registered, nothing published: closed');
    assert.equal(overlay.watching(ALICE), 1);

    // alice's baresip, at A, publishes
    clock.advance(10_000);
    const t0 = clock.now();
    const pub = await ask(a, publishSpec(BARESIP_PIDF, [['Expires', '600']]), { user: ALICE });
    assert.equal(pub.res?.status, 200);
    assert.ok(header(pub.res, 'sip-etag'));
    assert.equal(header(pub.res, 'expires'), '600');
    assert.equal(b.notifies.length, 2);
    assert.ok(b.notifies[1]!.at - t0 < 1000);
    const body = bodyText(b.notifies[1]!.request);
    assert.deepEqual(lastBasic(b), ['open']);
    assert.match(body, /<rpid:busy\/>/, 'the RPID person travels with it');
    assert.match(body, /entity="sip:alice@p2psip.local"/);

    // her linphone publishes too (at A): B's watcher sees both devices
    clock.advance(1_000);
    const pub2 = await ask(a, publishSpec(LINPHONE_PIDF), { user: ALICE });
    assert.equal(pub2.res?.status, 200);
    assert.deepEqual(lastBasic(b), ['open', 'open']);
    assert.match(bodyText(b.notifies[b.notifies.length - 1]!.request), /<rpid:on-the-phone\/>/);

    // baresip withdraws its publication: one tuple left
    clock.advance(1_000);
    const rm = await ask(a, publishSpec(undefined, [['SIP-If-Match', header(pub.res, 'sip-etag')!], ['Expires', '0']]), { user: ALICE });
    assert.equal(rm.res?.status, 200);
    assert.equal(header(rm.res, 'expires'), '0');
    const last = parsePidf(bodyText(b.notifies[b.notifies.length - 1]!.request));
    assert.ok(last.ok);
    assert.deepEqual(last.document.tuples.map((t) => t.id), ['qmg0sk']);
  });

  test('a watcher at the same peer as the publisher is told at once too', async () => {
    const clock = new ManualClock(0);
    const overlay = new FakeOverlay();
    const a = peer('A', overlay, clock);
    await ask(a, subscribeSpec(), { user: BOB });
    clock.advance(5_000);
    await ask(a, publishSpec(simplePidf('open')), { user: ALICE });
    assert.equal(a.notifies.length, 2);
    assert.deepEqual(lastBasic(a), ['open']);
    assert.equal(overlay.published.get(ALICE)?.get('A')?.tuples.length, 1, 'our own state went to the overlay');
  });

  test('a phone that never PUBLISHes: open while registered anywhere', async () => {
    const clock = new ManualClock(0);
    const overlay = new FakeOverlay();
    const b = peer('B', overlay, clock);
    await ask(b, subscribeSpec(), { user: BOB });
    assert.deepEqual(lastBasic(b), ['closed']);
    clock.advance(5_000);
    overlay.register(ALICE, true);
    await settle();
    assert.deepEqual(lastBasic(b), ['open']);
    clock.advance(5_000);
    overlay.register(ALICE, false);
    await settle();
    assert.deepEqual(lastBasic(b), ['closed']);
  });

  test('a publication that expires at A is withdrawn, and B is told', async () => {
    const clock = new ManualClock(0);
    const overlay = new FakeOverlay();
    const a = peer('A', overlay, clock);
    const b = peer('B', overlay, clock);
    await ask(b, subscribeSpec(), { user: BOB });
    // inside the throttle window of the first NOTIFY: the change goes 200 ms after it
    await ask(a, publishSpec(simplePidf('open'), [['Expires', '120']]), { user: ALICE });
    assert.deepEqual(lastBasic(b), ['closed']);
    clock.advance(200);
    await settle();
    assert.deepEqual(lastBasic(b), ['open']);
    clock.advance(120_000);
    await settle();
    assert.deepEqual(lastBasic(b), ['closed']);
    assert.equal(overlay.published.get(ALICE)?.has('A'), false);
  });

  test('the watcher unsubscribes: terminated NOTIFY, the overlay watch ends', async () => {
    const clock = new ManualClock(0);
    const overlay = new FakeOverlay();
    const b = peer('B', overlay, clock);
    const sub = await ask(b, subscribeSpec(), { user: BOB });
    // the in-dialog SUBSCRIBE comes to our Contact: no AoR in the Request-URI
    const unsub = await ask(b, subscribeSpec({ uri: 'sip:192.0.2.2:5060', toTag: sub.toTag, cseq: 2, headers: [['Event', 'presence'], ['Expires', '0']] }), { user: BOB, aor: null });
    assert.equal(unsub.claimed, true);
    assert.equal(unsub.res?.status, 200);
    assert.equal(b.notifies.length, 2);
    assert.equal(b.notifies[1]!.request.headers.get('subscription-state'), 'terminated;reason=timeout');
    assert.equal(overlay.watching(ALICE), 0);
    const again = await ask(b, subscribeSpec({ uri: 'sip:192.0.2.2:5060', toTag: sub.toTag, cseq: 3 }), { user: BOB, aor: null });
    assert.equal(again.res?.status, 481);
  });
});

describe('presence service: PUBLISH answers', () => {
  test('Event other than presence → 489 with Allow-Events; no Event → 489', async () => {
    const a = peer('A', new FakeOverlay(), new ManualClock());
    const r = await ask(a, publishSpec(simplePidf('open'), [], { headers: [['Event', 'dialog'], ['Content-Type', 'application/pidf+xml']] }), { user: ALICE });
    assert.equal(r.res?.status, 489);
    assert.equal(header(r.res, 'allow-events'), 'presence');
    const none = await ask(a, publishSpec(simplePidf('open'), [], { headers: [['Content-Type', 'application/pidf+xml']] }), { user: ALICE });
    assert.equal(none.res?.status, 489);
  });

  test("only the user's own phone publishes: 403 for another user, 403 without authentication when it is required", async () => {
    const overlay = new FakeOverlay();
    const a = peer('A', overlay, new ManualClock());
    assert.equal((await ask(a, publishSpec(simplePidf('open')), { user: BOB })).res?.status, 403);
    assert.equal((await ask(a, publishSpec(simplePidf('open')))).res?.status, 403);
    assert.equal((await ask(a, publishSpec(simplePidf('open')), { fromPeer: true })).res?.status, 200, 'another peer vouches for the From');
    assert.equal((await ask(a, publishSpec(simplePidf('open'), [], { from: BOB }), { fromPeer: true })).res?.status, 403);
    const open = peer('O', overlay, new ManualClock(), { requireAuth: false });
    assert.equal((await ask(open, publishSpec(simplePidf('open')))).res?.status, 200, 'no authentication configured: accepted');
  });

  test('invalid PIDF → 400 with the reason; a body of another type → 415 with Accept', async () => {
    const a = peer('A', new FakeOverlay(), new ManualClock());
    const bad = await ask(a, publishSpec('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@p2psip.local"><tuple id="x"><status><basic>maybe</basic></status></tuple></presence>'), { user: ALICE });
    assert.equal(bad.res?.status, 400);
    assert.match(bad.res!.reason, /^Bad Request - Invalid PIDF: .*open or closed/);
    const notXml = await ask(a, publishSpec('not xml at all <'), { user: ALICE });
    assert.equal(notXml.res?.status, 400);
    const other = await ask(a, publishSpec(undefined, [['Content-Type', 'text/plain']], { body: 'hello' }), { user: ALICE });
    assert.equal(other.res?.status, 415);
    assert.equal(header(other.res, 'accept'), 'application/pidf+xml');
    assert.equal(a.service.stats().publications, 0);
  });

  test('entity-tag life through SIP: refresh, modify, unknown → 412, too brief → 423', async () => {
    const a = peer('A', new FakeOverlay(), new ManualClock());
    const first = await ask(a, publishSpec(simplePidf('open'), [['Expires', '300']]), { user: ALICE });
    const e1 = header(first.res, 'sip-etag')!;
    const refresh = await ask(a, publishSpec(undefined, [['SIP-If-Match', e1], ['Expires', '300']]), { user: ALICE });
    assert.equal(refresh.res?.status, 200);
    const e2 = header(refresh.res, 'sip-etag')!;
    assert.notEqual(e2, e1);
    const stale = await ask(a, publishSpec(undefined, [['SIP-If-Match', e1]]), { user: ALICE });
    assert.equal(stale.res?.status, 412);
    const modify = await ask(a, publishSpec(simplePidf('closed'), [['SIP-If-Match', e2]]), { user: ALICE });
    assert.equal(modify.res?.status, 200);
    const brief = await ask(a, publishSpec(simplePidf('open'), [['Expires', '5']]), { user: ALICE });
    assert.equal(brief.res?.status, 423);
    assert.equal(header(brief.res, 'min-expires'), '60');
  });

  test('publications per AoR bounded: 503 with Retry-After', async () => {
    const a = peer('A', new FakeOverlay(), new ManualClock(), { publications: { maxPerAor: 1 } });
    assert.equal((await ask(a, publishSpec(simplePidf('open')), { user: ALICE })).res?.status, 200);
    const over = await ask(a, publishSpec(simplePidf('open')), { user: ALICE });
    assert.equal(over.res?.status, 503);
    assert.equal(header(over.res, 'retry-after'), '60');
  });

  test('a PUBLISH to this element (no AoR) is not ours', async () => {
    const a = peer('A', new FakeOverlay(), new ManualClock());
    assert.equal((await ask(a, publishSpec(simplePidf('open')), { aor: null })).claimed, false);
  });
});

describe('presence service: SUBSCRIBE answers', () => {
  test('Accept without the package type → 406; a wildcard is fine', async () => {
    const b = peer('B', new FakeOverlay(), new ManualClock());
    const r = await ask(b, subscribeSpec({}, [['Event', 'presence'], ['Accept', 'application/xpidf+xml']]), { user: BOB });
    assert.equal(r.res?.status, 406);
    assert.equal(header(r.res, 'accept'), 'application/pidf+xml');
    const star = await ask(b, subscribeSpec({ callId: 'w2' }, [['Event', 'presence'], ['Accept', 'application/*']]), { user: BOB });
    assert.equal(star.res?.status, 200);
  });

  test('a denied watcher gets 403; others pass', async () => {
    const rules = new MemoryPresenceRuleStore();
    rules.deny(ALICE, BOB);
    const b = peer('B', new FakeOverlay(), new ManualClock(), {}, { rules });
    assert.equal((await ask(b, subscribeSpec(), { user: BOB })).res?.status, 403);
    assert.equal(b.notifies.length, 0);
    const carol = await ask(b, subscribeSpec({ from: `sip:carol@${DOMAIN}`, callId: 'c' }), { user: `sip:carol@${DOMAIN}` });
    assert.equal(carol.res?.status, 200);
  });

  test('without authentication the From names the watcher (open overlay); with it required, 403', async () => {
    const rules = new MemoryPresenceRuleStore();
    rules.deny(ALICE, BOB);
    const open = peer('B', new FakeOverlay(), new ManualClock(), { requireAuth: false }, { rules });
    assert.equal((await ask(open, subscribeSpec())).res?.status, 403, 'bob by his From');
    const closed = peer('C', new FakeOverlay(), new ManualClock());
    assert.equal((await ask(closed, subscribeSpec({ from: `sip:carol@${DOMAIN}` }))).res?.status, 403);
    assert.equal((await ask(closed, subscribeSpec({ from: `sip:carol@${DOMAIN}` }), { fromPeer: true })).res?.status, 200);
  });

  test('an event package we do not serve goes on to the phones; no Event → 489; an unknown dialog → 481', async () => {
    const b = peer('B', new FakeOverlay(), new ManualClock());
    assert.equal((await ask(b, subscribeSpec({}, [['Event', 'conference']]), { user: BOB })).claimed, false);
    const none = await ask(b, subscribeSpec({}, []), { user: BOB });
    assert.equal(none.res?.status, 489);
    assert.equal(header(none.res, 'allow-events'), 'presence');
    const unknown = await ask(b, subscribeSpec({ uri: 'sip:192.0.2.2:5060', toTag: 'nope', cseq: 2 }), { user: BOB, aor: null });
    assert.equal(unknown.claimed, true);
    assert.equal(unknown.res?.status, 481);
    assert.equal((await ask(b, { method: 'INVITE' })).claimed, false);
    assert.equal(b.service.divert(), false);
  });

  test('a refresh through claim: 200 with the Expires and a NOTIFY; a NOTIFY answered 481 ends it', async () => {
    const clock = new ManualClock(0);
    const b = peer('B', new FakeOverlay(), clock);
    const sub = await ask(b, subscribeSpec(), { user: BOB });
    clock.advance(60_000);
    const refresh = await ask(b, subscribeSpec({ uri: 'sip:192.0.2.2:5060', toTag: sub.toTag, cseq: 2, headers: [['Event', 'presence'], ['Expires', '1800']] }), { user: BOB, aor: null });
    assert.equal(refresh.res?.status, 200);
    assert.equal(header(refresh.res, 'expires'), '1800');
    assert.equal(b.notifies.length, 2);
    assert.equal(b.notifies[1]!.request.headers.get('subscription-state'), 'active;expires=1800');
    b.answer = () => 481;
    clock.advance(60_000);
    const again = await ask(b, subscribeSpec({ uri: 'sip:192.0.2.2:5060', toTag: sub.toTag, cseq: 3 }), { user: BOB, aor: null });
    assert.equal(again.res?.status, 200);
    assert.equal(b.service.stats().subscriptions, 0);
  });

  test('the dialog package (RFC 4235): dialog-info bodies, version counting per subscription', async () => {
    const clock = new ManualClock(0);
    let dialogs: CallDialog[] = [];
    let changed: (() => void) | undefined;
    const callState: CallStateSource = {
      dialogs: () => Promise.resolve(dialogs),
      watch: (_aor, cb) => {
        changed = cb;
        return () => (changed = undefined);
      },
    };
    const b = peer('B', new FakeOverlay(), clock, {}, { callState });
    assert.equal(b.service.allowEvents(), 'presence, dialog');
    const r = await ask(b, subscribeSpec({}, [['Event', 'dialog']]), { user: BOB });
    assert.equal(r.res?.status, 200);
    const n0 = b.notifies[0]!.request;
    assert.equal(n0.headers.get('content-type'), 'application/dialog-info+xml');
    assert.match(bodyText(n0), /version="0" state="full" entity="sip:alice@p2psip.local"/);
    clock.advance(5_000);
    dialogs = [{ id: 'x1', callId: 'c1', localTag: 'a', remoteTag: 'b', direction: 'recipient', state: 'early', remote: BOB }];
    changed!();
    await settle();
    const n1 = b.notifies[1]!.request;
    assert.match(bodyText(n1), /version="1"/);
    assert.match(bodyText(n1), /<state>early<\/state>/);
  });

  test('message-summary (RFC 3842): only the user may watch its own voicemail', async () => {
    const messageSummary: MessageSummarySource = { summary: () => Promise.resolve({ newMessages: 1, oldMessages: 0 }), watch: () => () => {} };
    const a = peer('A', new FakeOverlay(), new ManualClock(), {}, { messageSummary });
    const other = await ask(a, subscribeSpec({}, [['Event', 'message-summary']]), { user: BOB });
    assert.equal(other.res?.status, 403);
    const own = await ask(a, subscribeSpec({ from: ALICE }, [['Event', 'message-summary']]), { user: ALICE });
    assert.equal(own.res?.status, 200);
    assert.match(bodyText(a.notifies[0]!.request), /^Messages-Waiting: yes\r\n/);
  });

  test('close(): deactivated NOTIFYs, our publications withdrawn, new requests get 503', async () => {
    const clock = new ManualClock(0);
    const overlay = new FakeOverlay();
    const a = peer('A', overlay, clock);
    await ask(a, subscribeSpec(), { user: BOB });
    await ask(a, publishSpec(simplePidf('open')), { user: ALICE });
    await a.service.close();
    const last = a.notifies[a.notifies.length - 1]!.request;
    assert.equal(last.headers.get('subscription-state'), 'terminated;reason=deactivated');
    assert.equal(overlay.published.get(ALICE)?.has('A'), false);
    assert.equal(a.service.stats().subscriptions, 0);
    assert.equal(a.service.stats().publications, 0);
    const late = await ask(a, subscribeSpec({ callId: 'late' }), { user: BOB });
    assert.equal(late.res?.status, 503);
    assert.equal(header(late.res, 'retry-after'), '5');
    assert.equal(clock.pendingTimers, 0);
  });
});

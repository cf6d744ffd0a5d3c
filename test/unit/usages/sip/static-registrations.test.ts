import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../../src/lib/manual-clock.js';
import { isSipUri } from '../../../../src/sip/message/index.js';
import { advance, settle } from '../../../support/settle.js';
import { MemoryRegistrationStore } from '../../../support/usages/memory-registration-store.js';
import { parseStaticRegistration, type StaticRegistration } from '../../../../src/usages/sip/parse-static-registration.js';
import { STATIC_CALL_ID, StaticRegistrations } from '../../../../src/usages/sip/static-registrations.js';
import { OVERLAY, OverlaySipWorld } from './overlay-sip-world.js';

const VM = `sip:voicemail@${OVERLAY}`;

function staticOf(text: string): StaticRegistration {
  const r = parseStaticRegistration(text, OVERLAY);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.value;
}

function setup(lifetimeSec = 3_600): { clock: ManualClock; store: MemoryRegistrationStore; statics: StaticRegistrations; node: Uint8Array } {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryRegistrationStore(clock);
  const node = new Uint8Array(16).fill(9);
  const statics = new StaticRegistrations({ clock, directory: store.forNode(node), selfNodeId: node }, [staticOf(`${VM}=sip:vm@127.0.0.1:5090`)], { lifetimeSec });
  return { clock, store, statics, node };
}

function liveEntry(store: MemoryRegistrationStore, clock: ManualClock): { expiresAt: number } | undefined {
  const e = [...(store.table.get(VM)?.values() ?? [])][0];
  return e !== undefined && e.expiresAt > clock.now() ? e : undefined;
}

describe('parseStaticRegistration', () => {
  test('accepts <aor>=<contact-uri>, the AoR canonical (scheme added, domain lower-cased, user unescaped)', () => {
    const r = parseStaticRegistration('Voice%6Dail@P2PSIP.local=sip:vm@127.0.0.1:5090;transport=tcp', OVERLAY);
    assert.ok(r.ok);
    assert.equal(r.value.aor, `sip:Voicemail@${OVERLAY}`);
    assert.equal(r.value.contact.host, '127.0.0.1');
    assert.equal(r.value.contact.port, 5090);
    assert.ok(parseStaticRegistration(`sip:gw@${OVERLAY}=sips:pbx.example.com`, OVERLAY).ok);
  });

  test('refuses malformed values and AoRs outside the overlay, naming the bad value', () => {
    const bad: Array<[string, RegExp]> = [
      ['sip:vm@p2psip.local', /expected <aor>=<contact-uri>/],
      ['=sip:vm@127.0.0.1', /expected <aor>=<contact-uri>/],
      ['sip:vm@p2psip.local=', /expected <aor>=<contact-uri>/],
      ['sip:@p2psip.local=sip:vm@127.0.0.1', /AoR 'sip:@p2psip.local'/],
      ['sip:p2psip.local=sip:vm@127.0.0.1', /has no user part/],
      ['tel:+123=sip:vm@127.0.0.1', /not a sip: URI/],
      ['sip:vm@other.example=sip:vm@127.0.0.1', /outside the overlay's domain p2psip.local/],
      ['sip:vm@p2psip.local:5070=sip:vm@127.0.0.1', /must be plain sip:user@domain/],
      ['sip:vm@p2psip.local=http://x', /contact 'http:\/\/x' of sip:vm@p2psip.local is not a sip: or sips: URI/],
      ['sip:vm@p2psip.local=sip:vm@', /contact 'sip:vm@'/],
      ['sip:vm@p2psip.local=sip:alice@P2PSIP.local', /contact 'sip:alice@P2PSIP.local' of sip:vm@p2psip.local is in the overlay's domain/],
      [`sip:vm@p2psip.local=sip:${'x'.repeat(2000)}@h`, /longer than 1024/],
    ];
    for (const [text, why] of bad) {
      const r = parseStaticRegistration(text, OVERLAY);
      assert.ok(!r.ok, `${text} accepted`);
      assert.match(r.error, why, text);
    }
  });
});

describe('StaticRegistrations (ManualClock)', () => {
  test('stored at start, route to our Node-ID, then refreshed before it ends for hours of virtual time', async () => {
    const { clock, store, statics, node } = setup(3_600);
    statics.start();
    await statics.idle();
    const e = [...store.table.get(VM)!.values()][0]!;
    assert.deepEqual(e.nodeId, node);
    assert.equal(e.value.type, 'route');
    if (e.value.type === 'route') assert.deepEqual(e.value.destinationList, [{ type: 'node', nodeId: node }]);
    assert.equal(e.expiresAt, clock.now() + 3_600_000);
    assert.equal(statics.status()[0]!.state, 'stored');
    // 10 hours, checked every minute: the stored entry never lapses, and at least 30 min remain
    for (let m = 0; m < 600; m++) {
      await advance(clock, 60_000, 60_000);
      const live = liveEntry(store, clock);
      assert.ok(live, `stored entry present at minute ${m + 1}`);
      assert.ok(live.expiresAt - clock.now() >= 1_800_000 - 60_000, `refreshed well before it ends (minute ${m + 1})`);
    }
    const publishes = store.log.filter((l) => l.op === 'publish').length;
    assert.equal(publishes, 1 + 20, 'one Store per half lifetime');
    assert.equal(statics.status()[0]!.stores, 21);
  });

  test('a failed Store is tried again with backoff (2, 4, 8 s …) until it succeeds', async () => {
    const { clock, store, statics } = setup();
    store.failWith = new Error('no storing peer');
    statics.start();
    await settle();
    assert.equal(statics.status()[0]!.state, 'retrying');
    assert.equal(statics.status()[0]!.lastError, 'no storing peer');
    const tries = (): number => store.log.filter((l) => l.op === 'publish').length;
    assert.equal(tries(), 1);
    await advance(clock, 1_999, 1_999);
    assert.equal(tries(), 1);
    await advance(clock, 1, 1);
    assert.equal(tries(), 2, 'after 2 s');
    await advance(clock, 4_000, 1_000);
    assert.equal(tries(), 3, 'after 4 s more');
    await advance(clock, 8_000, 1_000);
    assert.equal(tries(), 4, 'after 8 s more');
    store.failWith = undefined;
    await advance(clock, 16_000, 1_000);
    assert.equal(tries(), 5);
    const st = statics.status()[0]!;
    assert.equal(st.state, 'stored');
    assert.equal(st.failures, 4);
    assert.equal(st.lastError, undefined);
    assert.ok(liveEntry(store, clock));
    // backoff is capped (60 s) and reset by a success: a refresh that fails retries after 2 s again
    store.failWith = new Error('flaky');
    await advance(clock, 1_800_000, 60_000);
    const n = tries();
    assert.ok(liveEntry(store, clock), 'the earlier Store still lives while the refresh is retried');
    store.failWith = undefined;
    await advance(clock, 2_000, 1_000);
    assert.equal(tries(), n + 1);
    assert.equal(statics.status()[0]!.state, 'stored');
  });

  test('the retry wait grows to at most maxRetryMs', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryRegistrationStore(clock);
    const node = new Uint8Array(16).fill(9);
    const statics = new StaticRegistrations({ clock, directory: store.forNode(node), selfNodeId: node }, [staticOf(`${VM}=sip:vm@127.0.0.1`)], {});
    store.failWith = new Error('down');
    statics.start();
    await advance(clock, 3_600_000, 1_000);
    // 2+4+8+16+32 s, then one per 60 s: about 5 + (3600-62)/60 ≈ 64 tries in an hour, not thousands
    const tries = store.log.filter((l) => l.op === 'publish').length;
    assert.ok(tries >= 60 && tries <= 66, `tries ${tries}`);
  });

  test('withdrawn on clean shutdown, and not stored again afterwards', async () => {
    const { clock, store, statics } = setup();
    statics.start();
    await statics.idle();
    assert.ok(liveEntry(store, clock));
    await statics.withdrawAll();
    assert.equal(store.table.get(VM), undefined);
    assert.equal(statics.status()[0]!.state, 'withdrawn');
    assert.equal(statics.status()[0]!.storedForSec, 0);
    await advance(clock, 4 * 3_600_000, 600_000);
    assert.equal(store.table.get(VM), undefined);
    assert.equal(store.log.filter((l) => l.op === 'publish').length, 1);
  });

  test('bindings are permanent and marked static; two contacts of one AoR share one Store', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryRegistrationStore(clock);
    const node = new Uint8Array(16).fill(9);
    const statics = new StaticRegistrations({ clock, directory: store.forNode(node), selfNodeId: node }, [
      staticOf(`${VM}=sip:vm@127.0.0.1:5090`),
      staticOf(`${VM}=sip:vm2@[::1]:5091;transport=tcp`),
      staticOf(`${VM}=sip:vm@127.0.0.1:5090`),
    ]);
    statics.start();
    await statics.idle();
    assert.equal(store.log.filter((l) => l.op === 'publish').length, 1);
    clock.advance(100 * 3_600_000);
    const b = statics.bindings(VM);
    assert.equal(b.length, 2, 'duplicates folded');
    assert.ok(b.every((x) => x.expiresAt > clock.now() && x.callId === STATIC_CALL_ID && x.flowId === undefined));
    assert.deepEqual(b[1]!.source, { protocol: 'tcp', host: '::1', port: 5091 });
    assert.deepEqual(statics.bindings(`sip:other@${OVERLAY}`), []);
  });
});

describe('static registrations through SIP (OverlaySipWorld)', () => {
  async function world(): Promise<{ w: OverlaySipWorld; a: Awaited<ReturnType<OverlaySipWorld['addPeer']>>; b: Awaited<ReturnType<OverlaySipWorld['addPeer']>> }> {
    const w = new OverlaySipWorld();
    // the first phone the world makes is 198.18.1.1:5060: the voicemail UAS
    const a = await w.addPeer('A', { statics: [staticOf(`${VM}=sip:vm@198.18.1.1:5060`)] });
    const b = await w.addPeer('B');
    a.usage.start();
    await a.usage.statics.idle();
    return { w, a, b };
  }

  test('a phone at B reaches the static AoR stored by A (MESSAGE delivered to the configured contact)', async () => {
    const { w, a, b } = await world();
    const vm = await w.phone('vm', a);
    assert.equal(vm.addr.host, '198.18.1.1');
    const bob = await w.phone('bob', b);
    bob.request('MESSAGE', VM);
    await w.settle();
    const got = vm.requests('MESSAGE');
    assert.equal(got.length, 1);
    assert.ok(isSipUri(got[0]!.uri));
    assert.equal(got[0]!.uri.user, 'vm');
    vm.reply(got[0]!, 200);
    await w.settle();
    assert.equal(bob.responses(200).length, 1);
    // a phone at A reaches it locally too
    const carol = await w.phone('carol', a);
    carol.request('MESSAGE', VM);
    await w.settle();
    assert.equal(vm.requests('MESSAGE').length, 2);
    await w.stop();
  });

  test("a phone's REGISTER of the static AoR adds its binding beside it; its un-REGISTER leaves the static one stored", async () => {
    const { w, a } = await world();
    const vm = await w.phone('vm', a);
    const box = await w.phone('voicemail', a);
    box.register(600);
    await w.settle();
    const ok = box.responses(200)[0];
    assert.ok(ok);
    assert.equal(ok.headers.getAll('contact').join(',').split(',').length, 2, '200 lists the phone and the static contact');
    assert.equal((await a.usage.location.lookup(VM)).length, 2);
    box.sendText(
      [
        `REGISTER sip:${OVERLAY} SIP/2.0`,
        `Via: SIP/2.0/UDP ${box.addr.host}:${box.addr.port};branch=z9hG4bKstar1;rport`,
        'Max-Forwards: 70',
        `From: <${VM}>;tag=rs`,
        `To: <${VM}>`,
        'Call-ID: reg-voicemail',
        'CSeq: 99 REGISTER',
        'Contact: *',
        'Expires: 0',
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    );
    await w.settle();
    await a.usage.location.idle();
    assert.equal(box.responses(200).length, 2);
    const left = await a.usage.location.lookup(VM);
    assert.equal(left.length, 1);
    assert.equal(left[0]!.callId, STATIC_CALL_ID);
    assert.equal(a.usage.location.stats.withdrawn, 0);
    assert.ok(w.store.table.get(VM)?.size === 1, 'the static Store stays');
    assert.equal(vm.requests().length, 0);
    await w.stop();
  });

  test('shutdown withdraws the static registration; B then answers 404', async () => {
    const { w, a, b } = await world();
    await w.phone('vm', a);
    const bob = await w.phone('bob', b);
    await a.usage.stop();
    assert.equal(w.store.table.get(VM), undefined);
    bob.request('MESSAGE', VM);
    await w.settle();
    assert.equal(bob.responses(404).length, 1);
    await w.stop();
  });
});

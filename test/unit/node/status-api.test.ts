/**
 * The status API's lists are paged (issue 14: /api/status once returned 31.6 MB of registrations):
 * a default page, `?offset=&limit=` with the limit capped, totals reported, and a response whose
 * size is bounded whatever the peer holds. The DESIGN.md contract fields stay.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STATUS_PAGE, MAX_CONTACT_VIEW_CHARS, MAX_STATUS_PAGE, handleApi, type StatusSource } from '../../../src/node/status-api.js';
import { fakeStatusSource } from '../../support/node/fake-status-source.js';

/** A status source holding `aors` AoRs of `contacts` contacts each, contacts `contactBytes` long. */
const source = (aors: number, contacts = 1, contactBytes = 40, statics = 0): StatusSource => fakeStatusSource({ aors, contacts, contactBytes, statics });

async function status(src: StatusSource, query = ''): Promise<{ status: number; body: Record<string, unknown>; bytes: number }> {
  const r = await handleApi(src, 'GET', new URL(`http://127.0.0.1:8060/api/status${query}`));
  return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown>, bytes: r.body.length };
}

type Reg = { aor: string; contacts: Array<{ contact: string }> };

describe('GET /api/status pages its lists', () => {
  test(`a default page of ${DEFAULT_STATUS_PAGE}, with the totals and the page reported`, async () => {
    const r = await status(source(2500, 1, 40, 300));
    assert.equal(r.status, 200);
    const regs = r.body['localRegistrations'] as Reg[];
    assert.equal(regs.length, DEFAULT_STATUS_PAGE);
    assert.equal(regs[0]!.aor, 'sip:u0@p2psip.local');
    assert.equal(r.body['localRegistrationsTotal'], 2500);
    assert.equal((r.body['staticRegistrations'] as unknown[]).length, DEFAULT_STATUS_PAGE);
    assert.equal(r.body['staticRegistrationsTotal'], 300);
    assert.deepEqual(r.body['page'], { offset: 0, limit: DEFAULT_STATUS_PAGE });
    // the DESIGN.md contract fields are all still there
    for (const k of ['nodeId', 'overlay', 'state', 'listen', 'sip', 'successors', 'predecessors', 'fingers', 'storedResources', 'localRegistrations']) {
      assert.ok(k in r.body, `status has ${k}`);
    }
  });

  test('?offset=&limit= selects a page; the last page is short', async () => {
    const r = await status(source(2500), '?offset=2490&limit=50');
    const regs = r.body['localRegistrations'] as Reg[];
    assert.deepEqual(
      regs.map((x) => x.aor),
      Array.from({ length: 10 }, (_, i) => `sip:u${2490 + i}@p2psip.local`),
    );
    assert.equal(r.body['localRegistrationsTotal'], 2500);
    assert.deepEqual(r.body['page'], { offset: 2490, limit: 50 });
    const past = await status(source(10), '?offset=100');
    assert.deepEqual(past.body['localRegistrations'], []);
    const none = await status(source(10), '?limit=0');
    assert.deepEqual(none.body['localRegistrations'], []);
    assert.equal(none.body['localRegistrationsTotal'], 10);
  });

  test(`a limit above ${MAX_STATUS_PAGE} is capped (and says so)`, async () => {
    const r = await status(source(2500), '?limit=100000');
    assert.equal((r.body['localRegistrations'] as Reg[]).length, MAX_STATUS_PAGE);
    assert.deepEqual(r.body['page'], { offset: 0, limit: MAX_STATUS_PAGE });
  });

  test('a paging value that is not a count gets 400 naming it', async () => {
    const src = source(5);
    for (const q of ['?offset=-1', '?limit=abc', '?offset=1e3', '?limit=', '?offset=99999999999999999999', '?limit=1.5']) {
      const r = await status(src, q);
      assert.equal(r.status, 400, q);
      assert.match(String(r.body['error']), /offset|limit/, q);
    }
  });

  test('the response is bounded whatever the peer holds: long contacts are cut in this view', async () => {
    // 1,500 AoRs × 4 contacts of 7.8 KB (the case): ~47 MB if every contact were listed in full
    const src = source(1500, 4, 7800);
    const r = await status(src);
    assert.ok(r.bytes < 600_000, `default page is ${r.bytes} bytes`);
    const c = (r.body['localRegistrations'] as Reg[])[0]!.contacts[0]!;
    assert.ok(c.contact.length <= MAX_CONTACT_VIEW_CHARS + 1, `contact view is ${c.contact.length} chars`);
    assert.equal((c as Record<string, unknown>)['truncated'], true);
    const big = await status(src, `?limit=${MAX_STATUS_PAGE}`);
    assert.ok(big.bytes < 5_000_000, `largest page is ${big.bytes} bytes`);
  });

  test('the dashboard page lists one page of registrations and says how many there are', async () => {
    const r = await handleApi(source(3000, 1, 7800), 'GET', new URL('http://127.0.0.1:8060/'));
    assert.equal(r.status, 200);
    assert.ok(r.body.length < 200_000, `dashboard is ${r.body.length} bytes`);
    assert.match(r.body, /3000 registrations/);
  });
});

describe('GET /api/lookup answers bad input clearly', () => {
  test('an aor over the length limit gets 400, a failing lookup 502 (not 500)', async () => {
    const src = source(1);
    const long = await handleApi(src, 'GET', new URL(`http://127.0.0.1:8060/api/lookup?aor=sip:${'a'.repeat(3000)}@p2psip.local`));
    assert.equal(long.status, 400);
    assert.match(long.body, /longer than/);
    const failing: StatusSource = {
      ...src,
      peer: Object.create(src.peer, { location: { value: { lookup: () => Promise.reject(new Error('store says no')) } } }) as StatusSource['peer'],
    };
    const r = await handleApi(failing, 'GET', new URL('http://127.0.0.1:8060/api/lookup?aor=sip:bob@p2psip.local'));
    assert.equal(r.status, 502);
    assert.match(r.body, /store says no/);
  });

  test('an AoR no REGISTER could store (raw control characters, a user part over 256 bytes) gets 400 before any lookup; escaped ones are looked up escaped', async () => {
    const src = source(1);
    let lookups = 0;
    let described = 0;
    const asked: string[] = [];
    const counting: StatusSource = {
      ...src,
      peer: Object.create(src.peer, { location: { value: { lookup: (aor: string) => (lookups++, asked.push(aor), Promise.resolve([])) } } }) as StatusSource['peer'],
      describeAor: () => (described++, Promise.resolve({})),
    };
    const cases: Array<[string, RegExp]> = [
      [`sip:a${encodeURIComponent('\r\n')}b@p2psip.local`, /not a SIP URI/],
      [`sip:a${encodeURIComponent('\u0000')}b@p2psip.local`, /not a SIP URI/],
      [`sip:${'u'.repeat(300)}@p2psip.local`, /300 bytes \(at most 256\)/],
    ];
    for (const [aor, why] of cases) {
      const r = await handleApi(counting, 'GET', new URL(`http://127.0.0.1:8060/api/lookup?aor=${aor}`));
      assert.equal(r.status, 400, aor);
      assert.match((JSON.parse(r.body) as { error: string }).error, why);
      assert.doesNotMatch((JSON.parse(r.body) as { error: string }).error, /[\u0000\r\n]/, 'the reason carries no raw control character');
    }
    assert.equal(lookups + described, 0, 'neither the location service nor the overlay was asked');
    const ok = await handleApi(counting, 'GET', new URL(`http://127.0.0.1:8060/api/lookup?aor=sip:${'u'.repeat(256)}@p2psip.local`));
    assert.equal(ok.status, 200);
    const escaped = await handleApi(counting, 'GET', new URL(`http://127.0.0.1:8060/api/lookup?aor=${encodeURIComponent('sip:a%0d%0ab%40x@p2psip.local')}`));
    assert.equal(escaped.status, 200);
    assert.equal(asked.at(-1), 'sip:a%0D%0Ab%40x@p2psip.local');
  });
});

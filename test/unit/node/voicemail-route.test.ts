/**
 * Issue 16: the voicemail routes behind the whole HTTP API (guard included): the list, a WAV
 * download, a removal (which needs the API token), and the answers for what is not there.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { createHttpApi } from '../../../src/node/http-api.js';
import { createVoicemailRoute, MAX_DOWNLOADS, userAor, type BinaryApiReply, type VoicemailApiSource } from '../../../src/node/voicemail-route.js';
import { fakeStatusSource } from '../../support/node/fake-status-source.js';

const TOKEN = '5d'.repeat(32);
const ID = 'ab'.repeat(28);
const WAV = Uint8Array.from([0x52, 0x49, 0x46, 0x46, 0xff, 0x00, 0x80]);

function setup(o: { service?: boolean; gate?: Promise<void> } = {}) {
  const clock = new ManualClock(0);
  const status = fakeStatusSource({ clock });
  const calls: string[] = [];
  const source: VoicemailApiSource = {
    list: (aor) => {
      calls.push(`list ${aor}`);
      return Promise.resolve(aor === 'sip:down@p2psip.local' ? { ok: false, info: 'timeout' } : { ok: true, voicemails: [{ id: ID, from: '<sip:bob@p2psip.local>', date: '2026-01-01T00:00:00.000Z', durationMs: 3000, bytes: 24_000 }] });
    },
    download: async (aor, id) => {
      calls.push(`download ${aor} ${id}`);
      await o.gate;
      return id === ID ? { ok: true, wav: WAV } : { ok: false, reason: 'not-found', info: 'no such voicemail' };
    },
    remove: (aor, id) => {
      calls.push(`remove ${aor} ${id}`);
      return Promise.resolve(id === ID ? { ok: true } : { ok: false, reason: 'not-found', info: 'no such voicemail' });
    },
  };
  const route = createVoicemailRoute({ logger: { info: () => undefined, warn: () => undefined }, domain: 'p2psip.local', voicemail: o.service === false ? undefined : source });
  const api = createHttpApi({ clock, status, storage: undefined, routes: [route] }, { token: TOKEN });
  api.bind('127.0.0.1', 8060);
  // every voicemail request carries the token (reads too: personal data, api-guard.ts); `bare` without it
  const call = (method: string, path: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) => api.handle(method, new URL(`http://127.0.0.1:8060${path}`), { headers: { host: '127.0.0.1:8060', ...headers } }) as Promise<BinaryApiReply>;
  return { call, calls };
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('voicemail routes', () => {
  test('GET /api/voicemail?user=: the list as JSON; 400 without a user of the domain; 503 when the overlay fails', async () => {
    const { call, calls } = setup();
    const r = await call('GET', '/api/voicemail?user=alice');
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body) as { aor: string; voicemails: Array<{ id: string }> };
    assert.equal(body.aor, 'sip:alice@p2psip.local');
    assert.equal(body.voicemails[0]!.id, ID);
    assert.equal((await call('GET', '/api/voicemail?user=sip:alice@p2psip.local')).status, 200);
    assert.equal((await call('GET', '/api/voicemail')).status, 400);
    assert.equal((await call('GET', '/api/voicemail?user=alice@elsewhere.example')).status, 400);
    assert.equal((await call('GET', '/api/voicemail?user=down')).status, 503);
    assert.equal((await call('POST', '/api/voicemail?user=alice', auth)).status, 405);
    assert.deepEqual(calls, ['list sip:alice@p2psip.local', 'list sip:alice@p2psip.local', 'list sip:down@p2psip.local']);
  });

  test('GET /api/voicemail/<user>/<id>.wav: audio/wav bytes; 404 unknown; 400 bad id; 503 past the downloads at once', async () => {
    const { call } = setup();
    const r = await call('GET', `/api/voicemail/alice/${ID}.wav`);
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'audio/wav');
    assert.deepEqual(r.bytes, WAV);
    assert.match(r.headers?.['content-disposition'] ?? '', new RegExp(`${ID}\\.wav`));
    assert.equal((await call('GET', `/api/voicemail/alice/${'cd'.repeat(28)}.wav`)).status, 404);
    assert.equal((await call('GET', '/api/voicemail/alice/xyz.wav')).status, 400);
    assert.equal((await call('GET', `/api/voicemail/alice/${ID}`)).status, 404);
    assert.equal((await call('GET', `/api/voicemail/%E0%A4%A/${ID}.wav`)).status, 400);
    assert.equal((await call('GET', `/api/voicemail/alice/x/${ID}.wav`)).status, 404);

    let open!: () => void;
    const gated = setup({ gate: new Promise<void>((r) => (open = r)) });
    const running = Array.from({ length: MAX_DOWNLOADS }, () => gated.call('GET', `/api/voicemail/alice/${ID}.wav`));
    await new Promise<void>((r) => setImmediate(r));
    const refused = await gated.call('GET', `/api/voicemail/alice/${ID}.wav`);
    assert.equal(refused.status, 503);
    assert.ok(refused.headers?.['retry-after']);
    open();
    assert.deepEqual((await Promise.all(running)).map((x) => x.status), Array(MAX_DOWNLOADS).fill(200));
  });

  test('DELETE /api/voicemail/<user>/<id>: 401 without the API token, 200 with it, 404 unknown', async () => {
    const { call, calls } = setup();
    const anon = await call('DELETE', `/api/voicemail/alice/${ID}`, {});
    assert.equal(anon.status, 401);
    // reads too: a user's messages are not for any local process (api-guard.ts PRIVATE_READ_PREFIXES)
    assert.equal((await call('GET', '/api/voicemail?user=alice', {})).status, 401);
    assert.equal((await call('GET', `/api/voicemail/alice/${ID}.wav`, {})).status, 401);
    assert.equal(calls.length, 0, 'the service is not asked');
    const r = await call('DELETE', `/api/voicemail/alice/${ID}`, auth);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { ok: true, aor: 'sip:alice@p2psip.local', id: ID });
    assert.equal((await call('DELETE', `/api/voicemail/alice/${'cd'.repeat(28)}`, auth)).status, 404);
    assert.equal((await call('DELETE', `/api/voicemail/alice/nothex`, auth)).status, 400);
    assert.equal((await call('PUT', `/api/voicemail/alice/${ID}`, auth)).status, 405);
  });

  test('a peer without voicemail: 404; other paths are not this route\'s', async () => {
    const { call } = setup({ service: false });
    assert.equal((await call('GET', '/api/voicemail?user=alice')).status, 404);
    assert.notEqual((await call('GET', '/api/voicemailbox')).contentType, 'audio/wav');
  });

  test('userAor: names, user@domain and sip: AoRs of the domain only', () => {
    assert.equal(userAor('alice', 'P2PSIP.local'), 'sip:alice@p2psip.local');
    assert.equal(userAor('sip:alice@p2psip.local', 'p2psip.local'), 'sip:alice@p2psip.local');
    assert.equal(userAor('alice@other', 'p2psip.local'), undefined);
    assert.equal(userAor('a/b', 'p2psip.local'), undefined);
    assert.equal(userAor('', 'p2psip.local'), undefined);
    assert.equal(userAor('x'.repeat(300), 'p2psip.local'), undefined);
  });
});

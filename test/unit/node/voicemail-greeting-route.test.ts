/**
 * Issue 16: /api/voicemail/greeting — PUT a WAV file (checked: 8 kHz mono G.711 or PCM16, 1..20 s),
 * GET it back, DELETE it; the answers for bad input, refusals and a peer without greetings.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { g711Encode } from '../../../src/media/voicemail/g711.js';
import { encodeWav } from '../../../src/media/voicemail/wav.js';
import { createHttpApi } from '../../../src/node/http-api.js';
import { createVoicemailRoute, GREETING_API_PATH, MAX_GREETING_WAV_BYTES, type BinaryApiReply, type BodyRead, type VoicemailApiSource } from '../../../src/node/voicemail-route.js';
import { fakeStatusSource } from '../../support/node/fake-status-source.js';

const TOKEN = '5d'.repeat(32);
const HEADERS = { host: '127.0.0.1:8060', authorization: `Bearer ${TOKEN}` };

/** A µ-law (format 7) mono WAV file of `samples` samples at `rate`. */
function mulawWav(samples: number, rate = 8000): Uint8Array {
  const data = g711Encode('pcmu', new Int16Array(samples).fill(1000));
  const out = new Uint8Array(44 + data.length);
  const v = new DataView(out.buffer);
  out.set([0x52, 0x49, 0x46, 0x46]);
  v.setUint32(4, 36 + data.length, true);
  out.set([0x57, 0x41, 0x56, 0x45, 0x66, 0x6d, 0x74, 0x20], 8);
  v.setUint32(16, 16, true);
  v.setUint16(20, 7, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate, true);
  v.setUint16(32, 1, true);
  v.setUint16(34, 8, true);
  out.set([0x64, 0x61, 0x74, 0x61], 36);
  v.setUint32(40, data.length, true);
  out.set(data, 44);
  return out;
}

function setup(o: { greetings?: boolean } = {}) {
  const calls: string[] = [];
  const stored = new Map<string, Int16Array>();
  const source: VoicemailApiSource = {
    list: () => Promise.resolve({ ok: true, voicemails: [] }),
    download: () => Promise.resolve({ ok: false, reason: 'not-found', info: 'none' }),
    remove: () => Promise.resolve({ ok: false, reason: 'not-found', info: 'none' }),
    ...(o.greetings === false
      ? {}
      : {
          greeting: (aor: string) => {
            calls.push(`greeting ${aor}`);
            const g = stored.get(aor);
            return Promise.resolve(g === undefined ? { ok: false as const, reason: 'not-found' as const, info: `${aor} has no greeting of its own` } : { ok: true as const, wav: encodeWav(g) });
          },
          saveGreeting: (aor: string, pcm: Int16Array) => {
            calls.push(`save ${aor} ${pcm.length}`);
            if (aor === 'sip:bob@p2psip.local') return Promise.resolve({ ok: false as const, reason: 'forbidden' as const, info: 'a greeting is written by a peer where its user proved its password (no live write grant for the signer here)' });
            stored.set(aor, pcm);
            return Promise.resolve({ ok: true as const, durationMs: pcm.length / 8 });
          },
          removeGreeting: (aor: string) => {
            calls.push(`remove ${aor}`);
            return Promise.resolve(stored.delete(aor) ? { ok: true as const } : { ok: false as const, reason: 'not-found' as const, info: 'none' });
          },
        }),
  };
  const route = createVoicemailRoute({ logger: { info: () => undefined, warn: () => undefined }, domain: 'p2psip.local', voicemail: source });
  const reads: number[] = [];
  /** The route directly, with a body the way the server would hand it over. */
  const call = (method: string, query: string, body?: Uint8Array | BodyRead) =>
    route.handle(method, new URL(`http://127.0.0.1:8060${GREETING_API_PATH}${query}`), {
      headers: HEADERS,
      ...(body === undefined
        ? {}
        : {
            readBody: (max: number) => {
              reads.push(max);
              if (!(body instanceof Uint8Array)) return Promise.resolve(body);
              return Promise.resolve(body.length > max ? { ok: false as const, status: 413, info: `request body larger than ${max} bytes` } : { ok: true as const, bytes: body });
            },
          }),
    }) as Promise<BinaryApiReply>;
  return { call, calls, reads, route };
}

const error = (r: BinaryApiReply): string => (JSON.parse(r.body) as { error: string }).error;

describe('greeting routes', () => {
  test('PUT a WAV (µ-law, A-law or PCM16), GET it back, DELETE it: 404 after', async () => {
    const { call, calls, reads } = setup();
    assert.equal((await call('GET', '?user=alice')).status, 404);
    const put = await call('PUT', '?user=alice', mulawWav(16_000));
    assert.equal(put.status, 200, put.body);
    assert.deepEqual(JSON.parse(put.body), { ok: true, aor: 'sip:alice@p2psip.local', durationMs: 2000 });
    assert.deepEqual(reads, [MAX_GREETING_WAV_BYTES]);
    const pcm16 = await call('PUT', '?user=carol', encodeWav(new Int16Array(8000 * 3).fill(500)));
    assert.equal(pcm16.status, 200);
    const got = await call('GET', '?user=alice');
    assert.equal(got.status, 200);
    assert.equal(got.contentType, 'audio/wav');
    assert.equal(got.bytes!.length, 44 + 32_000);
    assert.equal((await call('DELETE', '?user=alice')).status, 200);
    assert.equal((await call('GET', '?user=alice')).status, 404);
    assert.equal((await call('DELETE', '?user=alice')).status, 404);
    assert.deepEqual(calls, ['greeting sip:alice@p2psip.local', 'save sip:alice@p2psip.local 16000', 'save sip:carol@p2psip.local 24000', 'greeting sip:alice@p2psip.local', 'remove sip:alice@p2psip.local', 'greeting sip:alice@p2psip.local', 'remove sip:alice@p2psip.local']);
  });

  test('400 for what is not a greeting WAV, 413 past 20 s, 403 with the overlay\'s reason', async () => {
    const { call, calls } = setup();
    const not = await call('PUT', '?user=alice', new TextEncoder().encode('hello, not a wav'));
    assert.equal(not.status, 400);
    assert.match(error(not), /not a RIFF file/);
    const rate = await call('PUT', '?user=alice', mulawWav(16_000, 16_000));
    assert.equal(rate.status, 400);
    assert.match(error(rate), /16000 Hz, 8000 Hz is required/);
    const short = await call('PUT', '?user=alice', mulawWav(4000));
    assert.equal(short.status, 400);
    assert.match(error(short), /at least 1 s/);
    const long = await call('PUT', '?user=alice', mulawWav(20_001 * 8));
    assert.equal(long.status, 413);
    assert.match(error(long), /at most 20 s/);
    const huge = await call('PUT', '?user=alice', new Uint8Array(MAX_GREETING_WAV_BYTES + 1));
    assert.equal(huge.status, 413);
    const refused = await call('PUT', '?user=bob', mulawWav(8000));
    assert.equal(refused.status, 403);
    assert.match(error(refused), /write grant/);
    assert.equal((await call('PUT', '', mulawWav(8000))).status, 400, 'no user');
    assert.equal((await call('PUT', '?user=alice@elsewhere.example', mulawWav(8000))).status, 400);
    assert.equal((await call('PUT', '?user=alice')).status, 501, 'a server that hands over no body');
    assert.equal((await call('PUT', '?user=alice', { ok: false, status: 400, info: 'the body ended early' })).status, 400);
    assert.equal((await call('POST', '?user=alice')).status, 405);
    assert.deepEqual(calls, ['save sip:bob@p2psip.local 8000'], 'nothing else reached the service');
  });

  test('a peer without greetings answers 404; behind the API the greeting needs the token, reads too', async () => {
    const off = setup({ greetings: false });
    assert.equal((await off.call('GET', '?user=alice')).status, 404);
    assert.equal((await off.call('PUT', '?user=alice', mulawWav(8000))).status, 404);
    assert.equal((await off.call('DELETE', '?user=alice')).status, 404);
    const { route } = setup();
    const clock = new ManualClock(0);
    const api = createHttpApi({ clock, status: fakeStatusSource({ clock }), storage: undefined, routes: [route] }, { token: TOKEN });
    api.bind('127.0.0.1', 8060);
    const bare = await api.handle('GET', new URL(`http://127.0.0.1:8060${GREETING_API_PATH}?user=alice`), { headers: { host: '127.0.0.1:8060' } });
    assert.equal(bare.status, 401);
    const withToken = await api.handle('GET', new URL(`http://127.0.0.1:8060${GREETING_API_PATH}?user=alice`), { headers: HEADERS });
    assert.equal(withToken.status, 404);
  });
});

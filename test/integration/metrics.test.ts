/**
 * GET /metrics on real peers (issue 17): two peers built by startPeer in one process (overlay over
 * mutual TLS, SIP over UDP on loopback, the HTTP API on 127.0.0.1), a phone registered at A and a
 * call from a phone at B, answered; then both peers are scraped over HTTP and the counters are
 * checked to have moved — on each peer its own (one registry per peer).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer, type RunningPeer } from '../../src/node/run-peer.js';
import { loopbackPeerConfig } from './helpers/loopback-peer-config.js';
import { callUntilAnswered, SipPhoneProbe } from './helpers/sip-phone-probe.js';
import { until } from './helpers/until.js';

const OVERLAY = 'p2psip.local';
const quiet = { info: () => {}, warn: () => {} };

/** `name{labels} value` of a scrape, as a map from the sample line's left side to its value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('GET /metrics on real peers', { timeout: 90_000 }, () => {
  const peers: RunningPeer[] = [];
  const dirs: string[] = [];
  const phones: SipPhoneProbe[] = [];
  after(async () => {
    for (const ph of phones) ph.close();
    for (const p of peers) await p.stop().catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function peer(bootstrap: Array<{ host: string; port: number }>): Promise<RunningPeer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'p2psip-metrics-'));
    dirs.push(dataDir);
    const p = await startPeer(loopbackPeerConfig(dataDir, bootstrap, { overlay: OVERLAY, http: { host: '127.0.0.1', port: 0 } }), quiet);
    peers.push(p);
    return p;
  }
  const udp = (p: RunningPeer): { host: string; port: number } => p.sipAddresses.find((x) => x.protocol === 'udp')!;
  async function scrape(p: RunningPeer, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string }> {
    const r = await fetch(`http://127.0.0.1:${p.http!.port}/metrics`, { headers });
    return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
  }

  test('register at A, call from B answered: the counters moved on both peers', async () => {
    const a = await peer([]);
    const b = await peer([a.overlay!.listen!]);
    await until('joined', 20_000, () => (peers.every((p) => p.overlay!.node.state === 'joined') ? undefined : 'joining'));
    const alice = await SipPhoneProbe.open('alice', udp(a), OVERLAY);
    const bob = await SipPhoneProbe.open('bob', udp(b), OVERLAY);
    phones.push(alice, bob);
    assert.match(await alice.register(), /^SIP\/2\.0 200/);

    const callId = await callUntilAnswered(bob, alice, `sip:alice@${OVERLAY}`, { ringing: true });
    assert.notEqual(callId, '');

    const ra = await scrape(a);
    assert.equal(ra.status, 200);
    assert.match(ra.type ?? '', /^text\/plain; version=0\.0\.4/);
    const sa = samples(ra.text);
    const sb = samples((await scrape(b, { authorization: `Bearer ${b.apiToken!.token}` })).text);
    const at = (s: Map<string, number>, key: string): number => {
      const v = s.get(key);
      assert.ok(v !== undefined, `${key} in the scrape`);
      return v;
    };
    // A: alice's REGISTER, the INVITE from B's peer (over the overlay's SIP path), the call answered
    assert.equal(at(sa, 'p2psip_sip_requests_total{method="REGISTER",transport="udp"}'), 1);
    assert.ok(at(sa, 'p2psip_sip_responses_total{method="REGISTER",code="200"}') >= 1);
    assert.equal(at(sa, 'p2psip_sip_registered_aors'), 1);
    assert.equal(at(sa, 'p2psip_sip_registration_changes_total{action="added"}'), 1);
    assert.equal(at(sa, 'p2psip_sip_calls_total{outcome="answered"}'), 1);
    assert.equal(at(sa, 'p2psip_sip_calls_in_progress'), 1, 'answered, no BYE yet');
    assert.ok(at(sa, 'p2psip_sip_responses_total{method="INVITE",code="200"}') >= 1);
    // the REGISTER was Stored in the overlay: a request to a Resource-ID, answered
    assert.ok(at(sa, 'p2psip_reload_request_seconds_count{method="store",target="resource",outcome="ok"}') >= 1);
    assert.ok(at(sa, 'p2psip_reload_messages_total{direction="in",method="app_attach_req"}') >= 1, 'B AppAttached to A');
    assert.ok(at(sa, 'p2psip_reload_links{type="tls"}') >= 1);
    assert.equal(at(sa, 'p2psip_reload_joined'), 1);
    assert.ok(at(sa, 'nodejs_eventloop_lag_seconds') >= 0);
    assert.ok(at(sa, 'nodejs_heap_size_used_bytes') > 0);
    // B: bob's INVITE, the lookup (Fetch) and AppAttach it made, the call answered there too
    assert.ok(at(sb, 'p2psip_sip_requests_total{method="INVITE",transport="udp"}') >= 1);
    assert.equal(sb.get('p2psip_sip_requests_total{method="REGISTER",transport="udp"}'), undefined, "alice's REGISTER went to A only");
    assert.equal(sb.get('p2psip_sip_registered_aors'), 0);
    assert.ok(at(sb, 'p2psip_reload_request_seconds_count{method="fetch",target="resource",outcome="ok"}') >= 1);
    assert.ok(at(sb, 'p2psip_reload_request_hops_count{method="app_attach"}') >= 1);
    assert.equal(at(sb, 'p2psip_sip_calls_total{outcome="answered"}'), 1);
    // A stores the registration (it is alone or its replica); the Kind is named
    const stored = [...sa.entries(), ...sb.entries()].filter(([k]) => k.startsWith('p2psip_storage_values{kind="SIP-REGISTRATION"}')).reduce((n, [, v]) => n + v, 0);
    assert.ok(stored >= 1, 'the registration is stored somewhere');

    // a wrong token is refused, POST is refused
    assert.equal((await scrape(a, { authorization: 'Bearer 0000000000000000000000000000000000000000' })).status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${a.http!.port}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${a.apiToken!.token}` } })).status, 405);
  });
});

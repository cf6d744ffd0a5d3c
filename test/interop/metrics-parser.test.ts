/**
 * /metrics read by an independent parser of the Prometheus text format (issue 17): a `p2psip up`
 * process on loopback, a phone registered and a call made through it, the scrape parsed by the
 * Prometheus project's Python client (`prometheus_client.parser.text_string_to_metric_families`,
 * Debian python3-prometheus-client; /usr/bin/python3 itself, never a version manager's shim). The
 * parse must succeed and find the families expected, of the right types, with sane values.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startPeerProcess, type PeerProcess } from '../integration/helpers/peer-process.js';
import { SipPhoneProbe } from '../integration/helpers/sip-phone-probe.js';

const PYTHON = '/usr/bin/python3';
const OVERLAY = 'p2psip.local';

/** Reads the exposition on stdin, prints the families as JSON (non-finite values as strings). */
const PARSER = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({'name': f.name, 'type': f.type, 'samples': [
        {'name': s.name, 'labels': dict(s.labels), 'value': s.value if math.isfinite(s.value) else str(s.value)}
        for s in f.samples]})
print(json.dumps(out))
`;

interface Family {
  name: string;
  type: string;
  samples: Array<{ name: string; labels: Record<string, string>; value: number | string }>;
}

function parserAvailable(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} missing`;
  const r = spawnSync(PYTHON, ['-c', 'import prometheus_client.parser'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? undefined : `python3-prometheus-client missing (${r.stderr.trim()})`;
}

describe('/metrics parsed by prometheus_client', { timeout: 60_000 }, () => {
  let peer: PeerProcess | undefined;
  const phones: SipPhoneProbe[] = [];
  after(async () => {
    for (const p of phones) p.close();
    await peer?.stop('SIGTERM', true);
  });

  test('a peer after a REGISTER and a call: every family parses, types and values as expected', async (t) => {
    const missing = parserAvailable();
    if (missing !== undefined) {
      // as root (CI, after .ci/install-interop.sh) a missing parser is a failure, not a skip
      if (process.getuid?.() === 0) assert.fail(missing);
      t.skip(missing);
      return;
    }
    peer = await startPeerProcess(['--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn', '--no-discovery']);
    const sip = peer.sip.get('udp')!;
    const alice = await SipPhoneProbe.open('alice', sip, OVERLAY);
    const bob = await SipPhoneProbe.open('bob', sip, OVERLAY);
    phones.push(alice, bob);
    assert.match(await alice.register(), /^SIP\/2\.0 200/);
    const id = bob.send('INVITE', `sip:alice@${OVERLAY}`);
    const invite = await alice.waitRequest('INVITE');
    alice.answer(invite, 180, 'Ringing');
    alice.answer(invite, 486, 'Busy Here');
    assert.equal((await bob.finalFor(id)).status, 486);

    const res = await fetch(`http://${peer.http}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const parsed = spawnSync(PYTHON, ['-c', PARSER], { input: text, encoding: 'utf8', timeout: 20_000, maxBuffer: 16 * 1024 * 1024 });
    assert.equal(parsed.status, 0, `the parser failed: ${parsed.stderr}`);
    const families = JSON.parse(parsed.stdout) as Family[];
    const byName = new Map(families.map((f) => [f.name, f]));
    console.log(`${families.length} families, ${families.reduce((n, f) => n + f.samples.length, 0)} samples, ${text.length} bytes`);

    // the parser names a counter's family without `_total`
    const expect: Array<[string, string]> = [
      ['p2psip_peer_info', 'gauge'],
      ['p2psip_sip_requests', 'counter'],
      ['p2psip_sip_responses', 'counter'],
      ['p2psip_sip_response_seconds', 'histogram'],
      ['p2psip_sip_transactions', 'gauge'],
      ['p2psip_sip_registered_aors', 'gauge'],
      ['p2psip_sip_registration_changes', 'counter'],
      ['p2psip_sip_calls', 'counter'],
      ['p2psip_sip_calls_in_progress', 'gauge'],
      ['p2psip_reload_messages', 'counter'],
      ['p2psip_reload_request_hops', 'histogram'],
      ['p2psip_reload_request_seconds', 'histogram'],
      ['p2psip_reload_links', 'gauge'],
      ['p2psip_reload_link_rtt_seconds', 'gauge'],
      ['p2psip_storage_resources', 'gauge'],
      ['p2psip_storage_values', 'gauge'],
      ['p2psip_storage_bytes', 'gauge'],
      ['p2psip_storage_replication_sent_bytes', 'counter'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
      ['process_resident_memory_bytes', 'gauge'],
    ];
    for (const [name, type] of expect) {
      const f = byName.get(name);
      assert.ok(f !== undefined, `family ${name} parsed`);
      assert.equal(f.type, type, `type of ${name}`);
    }
    const sample = (family: string, name: string, labels: Record<string, string>): number | string | undefined =>
      byName.get(family)?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    assert.equal(sample('p2psip_sip_requests', 'p2psip_sip_requests_total', { method: 'REGISTER', transport: 'udp' }), 1);
    assert.equal(sample('p2psip_sip_requests', 'p2psip_sip_requests_total', { method: 'INVITE', transport: 'udp' }), 1);
    assert.equal(sample('p2psip_sip_responses', 'p2psip_sip_responses_total', { method: 'INVITE', code: '486' }), 1);
    assert.equal(sample('p2psip_sip_calls', 'p2psip_sip_calls_total', { outcome: 'busy' }), 1);
    assert.equal(sample('p2psip_sip_calls_in_progress', 'p2psip_sip_calls_in_progress', {}), 0);
    assert.equal(sample('p2psip_sip_registered_aors', 'p2psip_sip_registered_aors', {}), 1);
    assert.equal(sample('p2psip_sip_response_seconds', 'p2psip_sip_response_seconds_count', { method: 'INVITE' }), 1);
    // a histogram's +Inf bucket equals its count
    assert.equal(sample('p2psip_sip_response_seconds', 'p2psip_sip_response_seconds_bucket', { method: 'INVITE', le: '+Inf' }), 1);
    assert.equal(sample('p2psip_peer_info', 'p2psip_peer_info', { overlay: OVERLAY }), 1);
    assert.match(byName.get('p2psip_peer_info')!.samples[0]!.labels.node_id ?? '', /^[0-9a-f]{32}$/);
    const lag = sample('nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_seconds', {});
    assert.ok(typeof lag === 'number' && lag >= 0 && lag < 5, `event-loop lag ${String(lag)}`);
    const heap = sample('nodejs_heap_size_used_bytes', 'nodejs_heap_size_used_bytes', {});
    assert.ok(typeof heap === 'number' && heap > 1e6 && heap < 4e9, `heap ${String(heap)}`);
    const rss = sample('process_resident_memory_bytes', 'process_resident_memory_bytes', {});
    assert.ok(typeof rss === 'number' && rss > 1e6, `rss ${String(rss)}`);
    // a lone peer stores alice's registration itself (SIP-REGISTRATION, RFC 7904)
    assert.ok(Number(sample('p2psip_storage_values', 'p2psip_storage_values', { kind: 'SIP-REGISTRATION' })) >= 1);
    // every sample value is a finite number, and no family mixes in stray label names
    for (const f of families) for (const s of f.samples) assert.equal(typeof s.value, 'number', `${s.name} ${JSON.stringify(s.labels)} = ${String(s.value)}`);
  });
});

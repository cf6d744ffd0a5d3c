/**
 * Static registrations with real processes on loopback (issue 6): peer A is started with
 * `--static sip:voicemail@<overlay>=<a UDP UAS>`; a phone at peer B reaches the voicemail box
 * (MESSAGE and INVITE through the overlay); `p2psip lookup` and /api/status show it; A's clean
 * shutdown withdraws it (then 404). Bad `--static` values are usage errors (exit 2).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { SipPhoneProbe } from './helpers/sip-phone-probe.js';
import { until } from './helpers/until.js';
import { cliEntry } from './helpers/cli-entry.js';

const OVERLAY = 'p2psip.local';
const VM = `sip:voicemail@${OVERLAY}`;

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...cliEntry(), ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

async function api<T>(p: PeerProcess, path: string): Promise<T> {
  return (await (await fetch(`http://${p.http}${path}`, { signal: AbortSignal.timeout(10_000) })).json()) as T;
}

interface Status {
  state: string;
  successors: string[];
  staticRegistrations: Array<{ aor: string; contacts: string[]; state: string; storedForSec: number; stores: number; failures: number; lastError?: string }>;
  sipUsage: { locator: { appAttaches: number; revalidations: number; hits: number }; location: { overlayLookups: number; earlyStarts: number } } | null;
}

describe('static registrations: real peers on loopback', { timeout: 180_000 }, () => {
  const peers: PeerProcess[] = [];
  const phones: SipPhoneProbe[] = [];
  after(async () => {
    for (const ph of phones) ph.close();
    await Promise.all(peers.map((p) => p.stop('SIGKILL', true)));
  });
  const common = ['--overlay', OVERLAY, '--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn'];

  test('bad --static values are usage errors (exit 2) naming the value', async () => {
    const [malformed, outside, noUri, idle, standalone] = await Promise.all([
      cli('up', ...common, '--static', 'voicemail'),
      cli('up', ...common, '--static', 'sip:vm@elsewhere.example=sip:vm@127.0.0.1:5090'),
      cli('up', ...common, '--static', `${VM}=mailto:vm@x`),
      cli('up', ...common, '--peer-idle', '0'),
      cli('up', ...common, '--standalone', '--static', `${VM}=sip:vm@127.0.0.1:5090`),
    ]);
    assert.equal(idle.code, 2, idle.stderr);
    assert.match(idle.stderr, /--peer-idle: expected seconds from 1 to 86400, got '0'/);
    assert.equal(standalone.code, 2, standalone.stderr);
    assert.match(standalone.stderr, /--static and --peer-idle need the overlay/);
    assert.equal(malformed.code, 2, malformed.stderr);
    assert.match(malformed.stderr, /--static: expected <aor>=<contact-uri>, got 'voicemail'/);
    assert.equal(outside.code, 2, outside.stderr);
    assert.match(outside.stderr, /--static: AoR 'sip:vm@elsewhere.example' is outside the overlay's domain p2psip.local/);
    assert.equal(noUri.code, 2, noUri.stderr);
    assert.match(noUri.stderr, /--static: contact 'mailto:vm@x' of sip:voicemail@p2psip.local is not a sip: or sips: URI/);
  });

  test('a phone at B reaches the static voicemail AoR of A; lookup and status show it; shutdown withdraws it', async () => {
    const vm = await SipPhoneProbe.open('vm', { host: '127.0.0.1', port: 9 }, OVERLAY);
    phones.push(vm);
    const a = await startPeerProcess([...common, '--static', `${VM}=sip:vm@127.0.0.1:${vm.udp.port}`], 60_000);
    peers.push(a);
    const b = await startPeerProcess([...common, '--bootstrap', `${a.listen!.host}:${a.listen!.port}`], 60_000);
    peers.push(b);
    await until('a ring of 2', 60_000, async () => {
      for (const p of [a, b]) {
        const s = await api<Status>(p, '/api/status');
        if (s.state !== 'joined' || s.successors.length === 0) return `${p.nodeId}: ${s.state}`;
      }
      return undefined;
    });
    const bob = await SipPhoneProbe.open('bob', b.sip.get('udp')!, OVERLAY);
    phones.push(bob);

    // The Store may have been refused before B joined; it is retried (2, 4, 8 s …) until stored.
    await until('the static registration stored', 60_000, async () => {
      const s = (await api<Status>(a, '/api/status')).staticRegistrations[0];
      return s?.state === 'stored' ? undefined : JSON.stringify(s);
    });
    const st = (await api<Status>(a, '/api/status')).staticRegistrations;
    assert.equal(st.length, 1);
    assert.equal(st[0]!.aor, VM);
    assert.deepEqual(st[0]!.contacts, [`sip:vm@127.0.0.1:${vm.udp.port}`]);
    assert.ok(st[0]!.storedForSec > 3000);

    // MESSAGE from B: overlay Fetch at B, AppAttach to A, A delivers to the configured contact.
    let delivered: string | undefined;
    await until('MESSAGE from B reaches the voicemail UAS', 30_000, async () => {
      const id = bob.send('MESSAGE', VM);
      const m = await vm.waitRequest('MESSAGE', 3000).catch(() => undefined);
      if (m === undefined) {
        const fin = await bob.finalFor(id, 5000).catch(() => undefined);
        return fin === undefined ? 'no answer' : `bob got ${fin.text.split('\r\n')[0]}`;
      }
      vm.answer(m, 200);
      delivered = m;
      return (await bob.finalFor(id, 10_000)).status === 200 ? undefined : 'not 200';
    });
    assert.match(delivered!, new RegExp(`^MESSAGE sip:vm@127\\.0\\.0\\.1:${vm.udp.port}`));

    // A second request to the located peer: one overlay lookup (the Fetch), no AppAttach on its path.
    const before = (await api<Status>(b, '/api/status')).sipUsage!;
    const again = bob.send('MESSAGE', VM);
    vm.answer(await vm.udp.waitFor((m) => m.startsWith('MESSAGE ') && m.includes(`Call-ID: ${again}`), 10_000, 'the second MESSAGE'), 200);
    assert.equal((await bob.finalFor(again, 10_000)).status, 200);
    // the 200 went to bob at once; the Fetch that re-checks the AoR runs beside it: wait until it was answered
    let afterStats = before;
    await until('the re-checking Fetch answered', 10_000, async () => {
      afterStats = (await api<Status>(b, '/api/status')).sipUsage!;
      return afterStats.locator.hits - before.locator.hits >= 2 ? undefined : JSON.stringify(afterStats.locator);
    });
    assert.equal(afterStats.location.overlayLookups - before.location.overlayLookups, 1, 'one Fetch');
    // located from the cache twice: the MESSAGE left at once for the peer of the last Fetch (lastFetchMs),
    // and the new Fetch's answer named the same peer
    assert.equal(afterStats.location.earlyStarts - before.location.earlyStarts, 1, 'sent before the Fetch answered');
    assert.equal(afterStats.locator.hits - before.locator.hits, 2, 'the peer came from the cache');
    assert.equal(
      afterStats.locator.appAttaches - before.locator.appAttaches,
      afterStats.locator.revalidations - before.locator.revalidations,
      'no AppAttach but a background re-check (when the entry was older than 15 s)',
    );

    // An INVITE too: 200 back to the caller.
    vm.udp.received.length = 0;
    const inviteId = bob.send('INVITE', VM);
    const inv = await vm.waitRequest('INVITE', 15_000);
    vm.answer(inv, 200);
    assert.equal((await bob.finalFor(inviteId, 15_000)).status, 200);

    // p2psip lookup at A lists the static contact like a registration; B's overlay view names A.
    const look = await cli('lookup', VM, '--http', a.http!);
    assert.equal(look.code, 0, look.stderr);
    assert.match(look.stdout, new RegExp(`${VM} -> <sip:vm@127\\.0\\.0\\.1:${vm.udp.port}>`));
    const atB = await api<{ overlay: { registrations: Array<{ nodeId: string; sip?: string }> } }>(b, `/api/lookup?aor=${encodeURIComponent(VM)}`);
    assert.ok(atB.overlay.registrations.some((r) => r.nodeId === a.nodeId && r.sip !== undefined), JSON.stringify(atB));

    // Clean shutdown of A withdraws the Store: B then finds nobody (404).
    assert.equal(await a.stop('SIGTERM'), 0);
    // (an OPTIONS: a MESSAGE would be kept for the AoR, issue 16)
    const nobody = bob.send('OPTIONS', VM);
    const fin = await bob.finalFor(nobody, 15_000);
    assert.equal(fin.status, 404, fin.text.split('\r\n')[0]);
  });
});

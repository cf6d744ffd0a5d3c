/**
 * Real processes on loopback (issue 5): 10 peers of an enrolled overlay (enroll-server, signed
 * configuration document, CA-issued certificates, mutual TLS, signed messages, LMDB storage).
 * A peer without an enrollment certificate cannot join; a Store under another user's Resource-ID
 * is refused; a replayed older value is refused; kill -9 of two of the three holders of a value at
 * the same moment loses nothing, and three copies exist again after re-replication.
 * The peers run the overlay service in helpers/storage-peer-process.ts (the /api/storage routes
 * are not mounted in `p2psip up` yet).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnrollServerProcess } from './helpers/enroll-server-process.js';
import { startEnrollment } from './helpers/enrolled-overlay.js';
import { startStoragePeer, type StoragePeerProcess } from './helpers/storage-peer-process.js';
import { untilWholeRing } from './helpers/ring.js';
import { until } from './helpers/until.js';

/** A peer killed or still joining can fail an HTTP call: that counts as not there yet. */
const POLL = { intervalMs: 500, retryOnError: true };

const OVERLAY = 'storage-processes.test';
const PEERS = 10;
const PROFILE_KIND = 1; // SIP-REGISTRATION: dictionary, USER-NODE-MATCH (the configuration's Kind)

async function api(p: StoragePeerProcess, method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  // the peer's API token (its data directory): POSTs need it, and it spares the overlay-read rate limit
  const r = await fetch(`http://${p.http}${path}`, { method, headers: { authorization: `Bearer ${p.apiToken()}` }, signal: AbortSignal.timeout(30_000) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function holders(peers: StoragePeerProcess[], id: string): Promise<StoragePeerProcess[]> {
  const out: StoragePeerProcess[] = [];
  for (const p of peers) {
    const r = await api(p, 'GET', `/api/storage/held?id=${id}`);
    if (r.body.held === true) out.push(p);
  }
  return out;
}

/** Each live peer's neighbours, replication counters and copy of `id` (printed when a wait fails). */
async function ringPicture(peers: StoragePeerProcess[], id: string): Promise<string> {
  const lines: string[] = [];
  for (const p of peers) {
    const get = async (path: string): Promise<unknown> => (await api(p, 'GET', path).catch((e: unknown) => ({ body: String(e) }))).body;
    lines.push(`${p.nodeId}: status ${JSON.stringify(await get('/api/status'))}\n  storage ${JSON.stringify(await get('/api/storage'))}\n  held ${JSON.stringify(await get(`/api/storage/held?id=${id}`))}`);
  }
  return lines.join('\n');
}

describe('storage in an enrolled overlay of 10 processes', { timeout: 600_000 }, () => {
  let dir: string;
  let server: EnrollServerProcess;
  const peers: StoragePeerProcess[] = [];
  let caFile: string;
  let common: (i: number) => string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p2psip-storage-it-'));
    const e = await startEnrollment(dir, OVERLAY, Array.from({ length: PEERS }, (_, i) => `user${i}`));
    server = e.server;
    caFile = e.caFile;
    await readFile(caFile, 'utf8');
    // hold-down and drop grace of 3 s (defaults 5 s and 90 s): the copies that joins leave outside the
    // replica sets are gone before "exactly three holders" is checked and two of them are killed
    common = (i: number): string[] => ['--overlay', OVERLAY, '--config', server.configUrl, '--config-ca', caFile, '--user', `user${i}`, '--password', e.password(`user${i}`), '--hold-down', '3000', '--drop-grace', '3000', '--data-dir', join(dir, `peer${i}`)];
    for (let i = 0; i < PEERS; i++) peers.push(await startStoragePeer([...common(i), ...e.placeArgs(i)]));
    await untilWholeRing(peers, 30_000);
  });

  after(async () => {
    for (const p of peers) await p.stop('SIGKILL');
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a peer without an enrollment certificate cannot join (it never strands: it serves alone, outside the ring)', async () => {
    const bootstrap = peers[0]!.listen;
    const intruder = await startStoragePeer(['--overlay', OVERLAY, '--listen', '127.0.0.1:0', '--bootstrap', bootstrap, '--data-dir', join(dir, 'intruder')], 120_000);
    try {
      type Status = { successors?: string[]; predecessors?: string[]; join?: { state?: string; lastAttempt?: { result?: string } | null } };
      const status = async (p: StoragePeerProcess): Promise<Status> => (await (await fetch(`http://${p.http}/api/status`, { signal: AbortSignal.timeout(10_000) })).json()) as Status;
      // the bootstrap peer's TLS refuses the self-signed certificate: tried, refused, still alone
      await until('the intruder to try its bootstrap peer', 20_000, async () => {
        const s = await status(intruder);
        return s.join?.lastAttempt?.result !== undefined ? undefined : JSON.stringify(s.join);
      }, POLL);
      const s = await status(intruder);
      assert.deepEqual([s.successors ?? [], s.predecessors ?? []], [[], []], 'the intruder has no neighbour');
      assert.notEqual(s.join?.state, 'joined');
      for (const p of peers) {
        const ps = await status(p);
        assert.ok(![...(ps.successors ?? []), ...(ps.predecessors ?? [])].includes(intruder.nodeId), `the intruder is not a neighbour of ${p.nodeId}`);
      }
    } finally {
      await intruder.stop();
    }
  });

  test('store, fetch from another peer, forged and replayed stores refused, kill -9 of two holders loses nothing', async () => {
    const alice = peers[3]!;
    const name = encodeURIComponent(`user3@${OVERLAY}`); // the enrolled certificate's user name
    let r = await api(alice, 'POST', `/api/storage/store?kind=${PROFILE_KIND}&name=${name}&value=sip:user3@127.0.0.1:5070`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const id = String(r.body.id);
    // a Store under another user's Resource-ID: Error_Forbidden (2)
    r = await api(peers[5]!, 'POST', `/api/storage/store?kind=${PROFILE_KIND}&name=${name}&value=sip:mallory@127.0.0.1`);
    assert.equal(r.status, 409);
    assert.equal(r.body.errorCode, 2);
    // fetched and verified at another peer (which remembers the signed value for the replay)
    r = await api(peers[7]!, 'GET', `/api/storage/fetch?kind=${PROFILE_KIND}&name=${name}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((r.body.values as Array<{ value: string }>)[0]?.value, 'sip:user3@127.0.0.1:5070');
    r = await api(alice, 'GET', `/api/storage/fetch?kind=${PROFILE_KIND}&name=${name}`);
    assert.equal(r.status, 200);
    r = await api(alice, 'POST', `/api/storage/store?kind=${PROFILE_KIND}&name=${name}&value=sip:user3@127.0.0.1:5072`);
    assert.equal(r.status, 200);
    // the older value replayed through Alice's own peer: Error_Data_Too_Old (9)
    r = await api(alice, 'POST', `/api/storage/replay?kind=${PROFILE_KIND}&name=${name}`);
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.errorCode, 9);
    // replayed by someone else: the requester must conform to the policy too (Forbidden)
    r = await api(peers[7]!, 'POST', `/api/storage/replay?kind=${PROFILE_KIND}&name=${name}`);
    assert.equal(r.status, 409);
    assert.equal(r.body.errorCode, 2);

    let held: StoragePeerProcess[] = [];
    await until('three copies', 20_000, async () => {
      held = await holders(peers, id);
      return held.length === 3 ? undefined : `${held.length} copies`;
    }, POLL);
    // kill -9 two of the three holders at the same moment (never the reader)
    const victims = held.filter((p) => p !== peers[7]).slice(0, 2);
    await Promise.all(victims.map((v) => v.stop('SIGKILL')));
    const live = peers.filter((p) => !victims.includes(p));
    await until('the value fetched after the crash', 60_000, async () => {
      const f = await api(peers[7]!, 'GET', `/api/storage/fetch?kind=${PROFILE_KIND}&name=${name}`);
      const v = (f.body.values as Array<{ value: string }> | undefined)?.[0]?.value;
      return v === 'sip:user3@127.0.0.1:5072' ? undefined : `fetch: ${JSON.stringify(f.body)}`;
    }, POLL);
    await until('three copies again (re-replication after the hold-down)', 90_000, async () => {
      const h = await holders(live, id);
      return h.length >= 3 ? undefined : `${h.length} copies`;
    }, POLL).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\nresource ${id}; killed ${victims.map((v) => v.nodeId).join(', ')}\n${await ringPicture(live, id)}`);
    });
    // Stat at the responsible peer sees the value
    r = await api(peers[7]!, 'GET', `/api/storage/stat?kind=${PROFILE_KIND}&name=${name}`);
    assert.equal(r.status, 200);
    assert.equal((r.body.values as unknown[]).length, 1);

    // persistence: a killed holder restarted on its data directory still has the value (LMDB)
    const i = peers.indexOf(victims[0]!);
    const again = await startStoragePeer([...common(i), '--listen', '127.0.0.1:0', '--bootstrap', peers[7]!.listen]);
    peers.push(again);
    assert.equal(again.nodeId, victims[0]!.nodeId, 'same Node-ID after the restart');
    r = await api(again, 'GET', `/api/storage/held?id=${id}`);
    assert.equal(r.body.held, true, 'the value survived the restart');
  });
});

/**
 * Real processes on loopback (issue: the overlay): 10 `p2psip up` peers form one CHORD-RELOAD ring
 * over mutual-TLS links; `kill -9` of a peer is repaired and lookups succeed again; a peer restarted
 * with the same data directory rejoins with the same Node-ID.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { until } from './helpers/until.js';

interface Status {
  nodeId: string;
  state: string;
  successors: string[];
  predecessors: string[];
  fingers: string[];
}

async function status(p: PeerProcess): Promise<Status> {
  const r = await fetch(`http://${p.http}/api/status`, { signal: AbortSignal.timeout(5000) });
  return (await r.json()) as Status;
}

/** Undefined when every peer's first successor and predecessor are the true ones, else what is wrong. */
async function ringProblem(peers: PeerProcess[]): Promise<string | undefined> {
  const st = await Promise.all(peers.map(status));
  const ids = st.map((s) => s.nodeId).sort();
  for (const s of st) {
    const i = ids.indexOf(s.nodeId);
    const succ = ids[(i + 1) % ids.length];
    const pred = ids[(i + ids.length - 1) % ids.length];
    if (s.state !== 'joined') return `${s.nodeId} is ${s.state}`;
    if (s.successors[0] !== succ) return `${s.nodeId}: successor ${s.successors[0]} instead of ${succ}`;
    if (s.predecessors[0] !== pred) return `${s.nodeId}: predecessor ${s.predecessors[0]} instead of ${pred}`;
  }
  return undefined;
}

function responsibleFor(ids: string[], key: string): string {
  const sorted = [...ids].sort();
  return sorted.find((x) => x >= key) ?? sorted[0]!;
}

async function lookupsOk(peers: PeerProcess[], n: number): Promise<string | undefined> {
  const ids = (await Promise.all(peers.map(status))).map((s) => s.nodeId);
  for (let i = 0; i < n; i++) {
    const key = Array.from({ length: 32 }, (_, j) => '0123456789abcdef'[(i * 7 + j * 13 + i * j) % 16]).join('');
    const p = peers[i % peers.length]!;
    const r = (await (await fetch(`http://${p.http}/api/overlay/lookup?id=${key}`, { signal: AbortSignal.timeout(20_000) })).json()) as { ok: boolean; responder?: string; error?: string };
    if (!r.ok) return `lookup of ${key} failed: ${r.error}`;
    if (r.responder !== responsibleFor(ids, key)) return `lookup of ${key} answered by ${r.responder}, responsible is ${responsibleFor(ids, key)}`;
  }
  return undefined;
}

describe('overlay: real processes on loopback', { timeout: 180_000 }, () => {
  const peers: PeerProcess[] = [];
  after(async () => {
    await Promise.all(peers.map((p) => p.stop('SIGKILL', true)));
  });
  const common = ['--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn'];

  test('10 peers form one ring; kill -9 is repaired; a restarted peer keeps its Node-ID', async () => {
    peers.push(await startPeerProcess(common));
    const boot = `${peers[0]!.listen!.host}:${peers[0]!.listen!.port}`;
    for (let i = 1; i < 10; i++) peers.push(await startPeerProcess([...common, '--bootstrap', boot]));
    assert.ok(peers.every((p) => p.nodeId !== undefined));
    const formed = await until('one ring of 10', 60_000, () => ringProblem(peers));
    assert.equal(await lookupsOk(peers, 20), undefined);

    // kill -9 of a peer in the middle of the ring
    const victim = peers.splice(4, 1)[0]!;
    const victimId = victim.nodeId!;
    const dataDir = victim.dataDir;
    await victim.stop('SIGKILL', false);
    const repaired = await until('ring repaired after kill -9', 30_000, () => ringProblem(peers));
    assert.equal(await until('lookups after kill -9', 30_000, () => lookupsOk(peers, 20)) >= 0, true);

    // restart with the same data directory: same Node-ID, back in the ring
    const again = await startPeerProcess([...common, '--bootstrap', boot, '--data-dir', dataDir]);
    peers.push(again);
    assert.equal(again.nodeId, victimId);
    await until('ring of 10 again', 30_000, () => ringProblem(peers));
    assert.equal(await lookupsOk(peers, 20), undefined);
    process.stdout.write(`# ring formed in ${formed} ms; repaired ${repaired} ms after kill -9\n`);
  });
});

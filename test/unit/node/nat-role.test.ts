/** The NAT role before the Join (issue 12): bootstrap peers' and configured STUN servers' answers. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CandidateGatherer } from '../../../src/nat/candidate-gatherer.js';
import type { UdpAddress } from '../../../src/nat/datagram-socket.js';
import { MAX_REFLEXIVE_SERVERS, REFLEXIVE_RTO_MS, REFLEXIVE_TRANSMISSIONS, learnReflexiveFromAll, natRoleOf } from '../../../src/node/nat-role.js';
import type { ReflexiveProbe } from '../../../src/node/nat-role.js';

const HOST: UdpAddress = { host: '10.0.1.10', port: 6084 };
const BOOT: UdpAddress = { host: '203.0.113.10', port: 6084 };
const STUN: UdpAddress = { host: '203.0.113.2', port: 3478 };
const STUN2: UdpAddress = { host: '203.0.113.4', port: 3478 };
const key = (a: UdpAddress): string => `${a.host}:${a.port}`;

/** Answers from a table (undefined: never answers, i.e. the probe's own timeout); records the calls. */
function probe(table: Record<string, UdpAddress | undefined>): ReflexiveProbe & { calls: Array<{ server: string; rtoMs: number; n: number }>; release(): void } {
  const waiting: Array<() => void> = [];
  const calls: Array<{ server: string; rtoMs: number; n: number }> = [];
  return {
    calls,
    release: () => waiting.splice(0).forEach((f) => f()),
    reflexiveAddress(server, rtoMs, n) {
      calls.push({ server: key(server), rtoMs, n });
      const mapped = table[key(server)];
      // every answer is held until release(): so the test sees whether all were asked before any answered
      return new Promise((resolve) => waiting.push(() => resolve(mapped === undefined ? undefined : { mapped })));
    },
  };
}

describe('NAT role from bootstrap peers and configured STUN servers', () => {
  test('all servers are asked at once (an unreachable STUN server costs only its own timeout), answers become srflx candidates', async () => {
    const p = probe({ [key(BOOT)]: { host: '198.51.100.20', port: 40000 }, [key(STUN)]: { host: '198.51.100.20', port: 40001 } });
    const g = new CandidateGatherer([HOST]);
    const done = learnReflexiveFromAll(p, g, [BOOT], [STUN, STUN2], () => 1);
    await Promise.resolve();
    assert.deepEqual(
      p.calls.map((c) => c.server),
      [key(BOOT), key(STUN), key(STUN2)],
      'every server asked before any answered',
    );
    assert.ok(p.calls.every((c) => c.rtoMs === REFLEXIVE_RTO_MS && c.n === REFLEXIVE_TRANSMISSIONS), 'the existing STUN timeouts');
    p.release();
    const seen = await done;
    assert.deepEqual(seen.peers.map((x) => key(x.mapped)), ['198.51.100.20:40000']);
    assert.deepEqual(seen.stun.map((x) => key(x.mapped)), ['198.51.100.20:40001']);
    assert.deepEqual(
      g.candidates().filter((c) => c.type === 'srflx').map((c) => [key(c.address), c.server]),
      [
        ['198.51.100.20:40000', BOOT.host],
        ['198.51.100.20:40001', STUN.host],
      ],
    );
    const role = natRoleOf({ bootstrap: [BOOT], stunServers: [STUN, STUN2], seen, isHost: (a) => g.isHost(a) });
    assert.equal(role.role, 'nat');
    assert.match(role.reason, /seen as 198\.51\.100\.20:40000, 198\.51\.100\.20:40001 by 1 bootstrap peer\(s\) and 1 STUN server\(s\) \(behind a NAT, mapping differs per destination\)/);
    assert.deepEqual(role.stunServers, [
      { server: key(STUN), mapped: '198.51.100.20:40001' },
      { server: key(STUN2), mapped: null },
    ]);
  });

  test('at most MAX_REFLEXIVE_SERVERS of each kind are asked', async () => {
    const many = Array.from({ length: 6 }, (_, i) => ({ host: '192.0.2.1', port: 1000 + i }));
    const p = probe({});
    const done = learnReflexiveFromAll(p, new CandidateGatherer([HOST]), many, many.map((m) => ({ ...m, host: '192.0.2.2' })), () => 1);
    await Promise.resolve();
    assert.equal(p.calls.length, 2 * MAX_REFLEXIVE_SERVERS);
    p.release();
    await done;
  });

  test('roles: public, nat, no-udp, unknown — a STUN server alone decides when there is no bootstrap peer', () => {
    const g = new CandidateGatherer([BOOT]);
    const isHost = (a: UdpAddress): boolean => g.isHost(a);
    const none = { peers: [], stun: [] };
    assert.equal(natRoleOf({ bootstrap: [], stunServers: [], seen: none, isHost }).role, 'unknown');
    assert.equal(natRoleOf({ bootstrap: [], stunServers: [], seen: none, isHost }).stunServers, undefined, 'not shown without --stun-server');
    const self = natRoleOf({ bootstrap: [], stunServers: [STUN], seen: { peers: [], stun: [{ server: STUN, mapped: BOOT }] }, isHost });
    assert.deepEqual(self, { role: 'public', reason: 'seen at our own address by 1 STUN server(s)', stunServers: [{ server: key(STUN), mapped: key(BOOT) }] });
    const mixed = natRoleOf({ bootstrap: [HOST], stunServers: [STUN], seen: { peers: [{ server: HOST, mapped: BOOT }], stun: [] }, isHost });
    assert.equal(mixed.role, 'public', 'an unreachable STUN server does not change what the peers saw');
    assert.equal(mixed.reason, 'seen at our own address by 1 bootstrap peer(s)');
    assert.deepEqual(mixed.stunServers, [{ server: key(STUN), mapped: null }]);
    const blocked = natRoleOf({ bootstrap: [HOST], stunServers: [STUN], seen: none, isHost });
    assert.deepEqual(blocked, { role: 'no-udp', reason: 'no STUN answer from 1 bootstrap peer(s) and 1 STUN server(s) on UDP', stunServers: [{ server: key(STUN), mapped: null }] });
    const natted = natRoleOf({ bootstrap: [], stunServers: [STUN], seen: { peers: [], stun: [{ server: STUN, mapped: { host: '198.51.100.9', port: 5 } }] }, isHost });
    assert.equal(natted.role, 'nat');
    assert.equal(natted.reason, 'seen as 198.51.100.9:5 by 1 STUN server(s) (behind a NAT)');
    assert.equal(natRoleOf({ bootstrap: [HOST, BOOT], stunServers: [], seen: none, isHost }).reason, 'no STUN answer from 2 bootstrap peer(s) on UDP');
  });
});

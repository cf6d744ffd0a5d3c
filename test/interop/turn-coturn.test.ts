/**
 * TURN (RFC 8656, UDP) against coturn, both ways, on loopback:
 * a. our TurnClient allocates at coturn's `turnserver`, installs a permission, sends to a UDP peer
 *    through the relay (Send indications, then ChannelData once the channel is bound) and receives the
 *    peer's answers (Data indications / ChannelData) — every payload compared byte for byte both ways;
 *    stop() deallocates.
 * b. coturn's `turnutils_uclient` uses OUR TurnServer (in this process, on real sockets through
 *    platform/turn-relay-ports.ts) with a `turnutils_peer`: with a wrong password it must get nothing
 *    (only 401s); then ChannelData mode, Send-indication mode (-s) and client-to-client mode (-y) — its
 *    report must show every message echoed and none lost. coturn 4.6's uclient binds channels in RFC
 *    5766's range (0x4000–0x7FFF), so our server runs with `rfc5766ChannelNumbers` here.
 * c. tshark captures each exchange; Wireshark's STUN/TURN dissector must decode it with nothing
 *    malformed or warned, and see the TURN methods we expect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/lib/random.js';
import { withScope } from '../../harness/process-scope.js';
import { requireTools } from '../../harness/require-tools.js';
import type { BoundedProcess } from '../../harness/bounded-process.js';
import type { EventSource } from '../../src/lib/event-hub.js';
import type { StunAddress } from '../../src/nat/stun/stun-message.js';
import type { TurnClientEvents } from '../../src/nat/turn/turn-client.js';
import { bindUdp, closeUdp, startUdpTurnClient, startUdpTurnServer, waitForStun } from '../support/nat/udp-turn.js';
import { CLASS, METHOD, count, startStunCaptureCheck } from './helpers/stun-capture-check.js';

const LO = '127.0.0.1';
const TEST_TIMEOUT_MS = 90_000;

/**
 * Opaque payloads, the same on every run (seeded). The first byte stays below 0x40: RTP and RTCP
 * begin with version 2 (0b10……), and Wireshark's heuristics once took a random payload at the peer
 * for a malformed RTCP Goodbye, failing the capture check on bytes that were never ours to format.
 */
const payloadRandom = new SeededRandom(0x7475726e);
function opaque(n: number): Buffer {
  const b = Buffer.from(payloadRandom.bytes(n));
  b[0] = b[0]! & 0x3f;
  return b;
}

function span(base: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => base + i);
}

/** Polls `cond` every 10 ms until true; rejects with `what` after `timeoutMs`. */
async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function nextEvent<K extends keyof TurnClientEvents & string>(events: EventSource<TurnClientEvents>, name: K, timeoutMs: number): Promise<TurnClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = events.on(name, (e) => {
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

test('a. our TURN client allocates at coturn and relays to a UDP peer and back, byte for byte', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['turnserver'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir('p2psip-turn-');
    const serverPort = await scope.port();
    const relayBase = await scope.port({ span: 16 });
    const peerPort = await scope.port();
    const peer2Port = await scope.port();
    const capture = await startStunCaptureCheck(t, scope, { dir, name: 'coturn-server', ports: [serverPort, peerPort, peer2Port, ...span(relayBase, 16)], stunPorts: [serverPort], lifetimeMs: TEST_TIMEOUT_MS });
    const coturn = scope.spawn({
      command: 'turnserver',
      name: 'coturn',
      lifetimeMs: TEST_TIMEOUT_MS,
      args: [
        '-n', `--listening-ip=${LO}`, `--listening-port=${serverPort}`, `--relay-ip=${LO}`, `--min-port=${relayBase}`, `--max-port=${relayBase + 15}`,
        '--no-tls', '--no-dtls', '--no-cli', '--lt-cred-mech', '--user=u:p', '--realm=r', '--fingerprint', '--allow-loopback-peers',
        `--userdb=${dir}/turndb`, `--pidfile=${dir}/turnserver.pid`, `--log-file=${dir}/turnserver.log`, '--simple-log',
      ],
    });
    const server = { host: LO, port: serverPort };
    await waitForStun(server, 10_000).catch((e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${coturn.tail()}`);
    });

    // the peer: records what reaches it and answers "re:" + the bytes to whoever sent them (the relay)
    const peer = await bindUdp(LO, peerPort);
    scope.defer(() => closeUdp(peer));
    const atPeer: Array<{ data: Buffer; from: StunAddress }> = [];
    peer.on('message', (m, r) => {
      atPeer.push({ data: m, from: { host: r.address, port: r.port } });
      peer.send(Buffer.concat([Buffer.from('re:'), m]), r.port, r.address);
    });
    const PEER = { host: LO, port: peerPort };

    const c = await startUdpTurnClient(LO, { server, username: 'u', password: 'p', realm: 'r', software: 'p2psip-test' });
    scope.defer(async () => void (await c.close()));
    const heard: Array<TurnClientEvents['data']> = [];
    c.client.events.on('data', (e) => heard.push(e));
    const allocatedP = nextEvent(c.client.events, 'allocated', 10_000);
    c.client.start();
    const allocated = await allocatedP;
    t.diagnostic(`coturn allocated ${allocated.relayed.host}:${allocated.relayed.port} (mapped ${allocated.mapped?.host}:${allocated.mapped?.port}, ${allocated.lifetimeS} s)`);
    assert.equal(allocated.relayed.host, LO);
    assert.ok(allocated.relayed.port >= relayBase && allocated.relayed.port <= relayBase + 15, 'a port of --min-port..--max-port');
    assert.deepEqual(allocated.mapped, c.local, 'XOR-MAPPED-ADDRESS is our socket');
    assert.equal(await c.client.createPermission(PEER), true);

    const payloads = [Buffer.from('hello through coturn'), opaque(1), opaque(333), opaque(1200), Buffer.from('after the channel'), opaque(64)];
    const channelP = nextEvent(c.client.events, 'channel', 10_000);
    for (let i = 0; i < payloads.length; i++) {
      if (i === 2) {
        const ch = await channelP; // later payloads travel as ChannelData
        assert.equal(ch.ok, true, ch.reason);
      }
      assert.equal(c.client.send(PEER, payloads[i]!), 'sent');
      await until(() => atPeer.length > i && heard.length > i, 5000, `payload ${i} both ways`);
    }
    for (let i = 0; i < payloads.length; i++) {
      assert.ok(atPeer[i]!.data.equals(payloads[i]!), `payload ${i} reached the peer intact`);
      assert.deepEqual(atPeer[i]!.from, allocated.relayed, 'from the relayed address');
      assert.deepEqual(heard[i]!.peer, PEER);
      assert.ok(Buffer.from(heard[i]!.data).equals(Buffer.concat([Buffer.from('re:'), payloads[i]!])), `answer ${i} came back intact`);
    }
    // another port of the peer's IP (the permission is by IP) has no channel: coturn sends a Data indication
    const peer2 = await bindUdp(LO, peer2Port);
    scope.defer(() => closeUdp(peer2));
    const unsolicited = opaque(500);
    peer2.send(unsolicited, allocated.relayed.port, allocated.relayed.host);
    await until(() => heard.length > payloads.length, 5000, 'the Data indication from the second peer port');
    assert.deepEqual(heard[payloads.length]!.peer, { host: LO, port: peer2Port });
    assert.equal(heard[payloads.length]!.channel, undefined);
    assert.ok(Buffer.from(heard[payloads.length]!.data).equals(unsolicited));
    const s = c.client.stats();
    t.diagnostic(`client: ${JSON.stringify(s)}`);
    assert.ok(s.sentIndications >= 1 && s.sentChannelData >= 1, 'both Send indications and ChannelData were used');
    assert.ok(s.receivedIndications >= 1 && s.receivedChannelData >= 1, 'both Data indications and ChannelData came back');
    assert.equal(c.unclaimed(), 0);
    assert.equal(await c.close(), true, 'coturn confirmed the deallocation');
    await coturn.stop('SIGTERM', 3000);

    const d = await capture.finish();
    if (d !== undefined) {
      assert.deepEqual(d.problems, [], "Wireshark's STUN dissector flagged packets");
      assert.ok(count(d, METHOD.Allocate, CLASS.error) >= 1, '401 to the first Allocate');
      assert.equal(count(d, METHOD.Allocate, CLASS.success), 1);
      assert.ok(count(d, METHOD.CreatePermission, CLASS.success) >= 1);
      assert.ok(count(d, METHOD.ChannelBind, CLASS.success) >= 1);
      assert.ok(count(d, METHOD.Send, CLASS.indication) >= 1);
      assert.ok(count(d, METHOD.Data, CLASS.indication) >= 1);
      assert.ok(count(d, METHOD.Refresh, CLASS.success) >= 1, 'the deallocation');
      assert.ok(d.channelData >= 2, 'ChannelData both ways');
    }
  });
});

interface UclientReport {
  sent: number;
  received: number;
  lost: number;
  exit: number | null;
}

/** Runs turnutils_uclient to completion and reads its totals. */
async function runUclient(proc: BoundedProcess): Promise<UclientReport> {
  const exit = await proc.exited;
  const lines = proc.lines();
  let sent = -1;
  let received = -1;
  let lost = -1;
  for (const l of lines) {
    const m = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/.exec(l);
    if (m !== null) {
      sent = Number(m[1]);
      received = Number(m[2]);
    }
    const k = /Total lost packets (\d+)/.exec(l);
    if (k !== null) lost = Number(k[1]);
  }
  return { sent, received, lost, exit: exit.code };
}

test("b. coturn's turnutils_uclient uses our TURN server: a wrong password allocates nothing; ChannelData, Send indications and client-to-client relay every message", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['turnutils_uclient', 'turnutils_peer'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir('p2psip-turn-');
    const serverPort = await scope.port();
    const relayBase = await scope.port({ span: 16 });
    const peerPort = await scope.port();
    const capture = await startStunCaptureCheck(t, scope, { dir, name: 'our-server', ports: [serverPort, peerPort, ...span(relayBase, 16)], stunPorts: [serverPort], lifetimeMs: TEST_TIMEOUT_MS });
    const ours = await startUdpTurnServer({
      host: LO,
      port: serverPort,
      realm: 'p2psip.test',
      users: { user: 'pass' },
      relayPortRange: [relayBase, relayBase + 15],
      // coturn 4.6's uclient binds channels anywhere in 0x4000–0x7FFF (RFC 5766); RFC 8656 allows 0x4000–0x4FFF
      // uclient leaves some allocations behind at exit (they would expire after 600 s): room for three runs
      server: { allowLoopbackPeers: true, software: 'p2psip-test', rfc5766ChannelNumbers: true, maxAllocationsPerUser: 16 },
    });
    scope.defer(() => ours.close());
    const released: string[] = [];
    ours.server.events.on('released', (e) => released.push(e.reason));
    const peer = scope.spawn({ command: 'turnutils_peer', name: 'turnutils_peer', args: ['-L', LO, '-p', String(peerPort)], lifetimeMs: TEST_TIMEOUT_MS });
    await new Promise((r) => setTimeout(r, 300)); // turnutils_peer prints nothing when ready

    // a wrong password: our 401s, and nothing allocated
    const intruder = scope.spawn({
      command: 'turnutils_uclient',
      name: 'turnutils_uclient wrong password',
      lifetimeMs: 15_000,
      args: ['-u', 'user', '-w', 'guess', '-p', String(serverPort), '-e', LO, '-r', String(peerPort), '-c', '-n', '2', '-m', '1', LO],
    });
    const refused = await intruder.exited;
    t.diagnostic(`uclient with a wrong password: exit ${String(refused.code)}, "${intruder.lines().find((l) => /Cannot complete Allocation/.test(l)) ?? intruder.tail(2)}"; our server: ${JSON.stringify(ours.server.stats())}`);
    assert.notEqual(refused.code, 0);
    assert.equal(ours.server.stats().allocationsCreated, 0);
    assert.ok(ours.server.stats().authFailures >= 1);
    assert.equal(ours.relayPorts.size, 0);

    const N = 20;
    const modes: Array<{ name: string; flags: string[]; clients: number }> = [
      { name: 'ChannelData', flags: [], clients: 2 },
      { name: 'Send indications (-s)', flags: ['-s'], clients: 1 },
      { name: 'client-to-client (-y)', flags: ['-y'], clients: 1 },
    ];
    for (const mode of modes) {
      const before = ours.server.stats();
      const uclient = scope.spawn({
        command: 'turnutils_uclient',
        name: `turnutils_uclient ${mode.name}`,
        lifetimeMs: 30_000,
        args: [...mode.flags, '-u', 'user', '-w', 'pass', '-p', String(serverPort), '-e', LO, '-r', String(peerPort), '-c', '-n', String(N), '-m', String(mode.clients), '-l', '180', '-z', '5', LO],
      });
      const r = await runUclient(uclient);
      const after = ours.server.stats();
      t.diagnostic(
        `uclient ${mode.name}: exit ${String(r.exit)}, tot_send_msgs=${r.sent}, tot_recv_msgs=${r.received}, lost=${r.lost}; our server: +${after.allocationsCreated - before.allocationsCreated} allocations, ` +
          `+${after.relayedToPeer - before.relayedToPeer} to peers, +${after.relayedToClient - before.relayedToClient} to clients, ${after.allocations} live, challenges ${after.challenges}`,
      );
      assert.equal(r.exit, 0, uclient.tail());
      assert.ok(r.sent >= N * mode.clients, `uclient sent ${r.sent}\n${uclient.tail()}`);
      assert.equal(r.received, r.sent, `every message came back\n${uclient.tail()}`);
      assert.equal(r.lost, 0);
      assert.ok(after.allocationsCreated > before.allocationsCreated);
      assert.ok(after.relayedToPeer - before.relayedToPeer >= r.sent, 'all went through our relay');
      assert.ok(after.relayedToClient - before.relayedToClient >= r.received);
    }
    const s = ours.server.stats();
    t.diagnostic(`our server: ${JSON.stringify(s)}; released ${JSON.stringify(released)}; unclaimed datagrams ${ours.unclaimed()}`);
    assert.equal(s.droppedBandwidth, 0);
    assert.equal(ours.unclaimed(), 0);
    await peer.stop('SIGTERM', 2000);
    await ours.close();
    assert.equal(ours.relayPorts.size, 0, 'every relay port closed');
    assert.equal(ours.server.stats().allocations, 0);

    const d = await capture.finish();
    if (d !== undefined) {
      assert.deepEqual(d.problems, [], "Wireshark's STUN dissector flagged packets");
      assert.ok(count(d, METHOD.Allocate, CLASS.error) >= 1, 'our 401s');
      assert.ok(count(d, METHOD.Allocate, CLASS.success) >= 4);
      assert.ok(count(d, METHOD.ChannelBind, CLASS.success) >= 1);
      assert.ok(count(d, METHOD.Send, CLASS.indication) >= N);
      assert.ok(count(d, METHOD.Data, CLASS.indication) >= N);
      assert.ok(d.channelData >= 2 * N);
    }
  });
});

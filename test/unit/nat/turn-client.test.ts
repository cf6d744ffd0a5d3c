import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../support/settle.js';
import { CLIENT, PEER, SERVER, addClient, makeWorld } from '../../support/nat/turn-world.js';
import type { ClientRig, World } from '../../support/nat/turn-world.js';
import type { TurnClientEvents } from '../../../src/nat/turn/turn-client.js';
import type { TurnServerOptions } from '../../../src/nat/turn/turn-server.js';
import type { StunAddress } from '../../../src/nat/stun/stun-message.js';

const enc = new TextEncoder();

interface Seen {
  allocated: TurnClientEvents['allocated'][];
  failed: TurnClientEvents['failed'][];
  data: TurnClientEvents['data'][];
  refreshed: number[];
}

function watch(rig: ClientRig): Seen {
  const seen: Seen = { allocated: [], failed: [], data: [], refreshed: [] };
  rig.client.events.on('allocated', (e) => seen.allocated.push(e));
  rig.client.events.on('failed', (e) => seen.failed.push(e));
  rig.client.events.on('data', (e) => seen.data.push(e));
  rig.client.events.on('refreshed', (e) => seen.refreshed.push(e.lifetimeS));
  return seen;
}

/** Advances the clock in steps, letting the network and promise continuations run in between. */
async function run(w: World, ms: number, step = 1000): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    w.clock.advance(Math.min(step, ms - t));
    await settle(w.net);
  }
}

async function started(serverOptions: Partial<TurnServerOptions> = {}, clientOptions: Parameters<typeof addClient>[1] = {}): Promise<{ w: World; rig: ClientRig; seen: Seen; relay: StunAddress }> {
  const w = makeWorld(serverOptions);
  const rig = addClient(w, clientOptions);
  const seen = watch(rig);
  rig.client.start();
  await settle(w.net);
  assert.equal(rig.client.state, 'allocated', JSON.stringify(seen.failed));
  return { w, rig, seen, relay: rig.client.relayedAddress! };
}

describe('TURN client against the server core, in memory', () => {
  test('allocate (401 → authenticated retry), permission, send, receive, channel, deallocate', async () => {
    const { w, rig, seen, relay } = await started();
    assert.equal(w.server.stats().challenges, 1);
    assert.equal(seen.allocated.length, 1);
    assert.deepEqual(seen.allocated[0]!.relayed, w.ports.ports[0]!.address);
    assert.deepEqual(seen.allocated[0]!.mapped, CLIENT, 'XOR-MAPPED-ADDRESS: a server-reflexive candidate');
    assert.equal(seen.allocated[0]!.lifetimeS, 600);

    // first send: queued until the permission is confirmed, then a Send indication
    assert.equal(rig.client.send(PEER, enc.encode('one')), 'queued');
    await settle(w.net);
    assert.deepEqual(w.peerInbox.map((m) => new TextDecoder().decode(m.data)), ['one']);
    assert.deepEqual(w.peerInbox[0]!.from, relay);
    // the channel is bound in the background: later sends are ChannelData
    assert.equal(rig.client.send(PEER, enc.encode('two')), 'sent');
    await settle(w.net);
    assert.equal(rig.client.send(PEER, enc.encode('three')), 'sent');
    await settle(w.net);
    assert.deepEqual(w.peerInbox.map((m) => new TextDecoder().decode(m.data)), ['one', 'two', 'three']);
    const s = rig.client.stats();
    assert.ok(s.sentChannelData >= 1, JSON.stringify(s));
    assert.ok(s.sentIndications >= 1, JSON.stringify(s));

    // the peer answers: through the channel (ChannelData) — and from another port of its IP, a Data indication
    w.peerSend(relay, enc.encode('back'));
    w.peerSend(relay, enc.encode('other port'), { host: PEER.host, port: PEER.port + 1 });
    await settle(w.net);
    assert.equal(seen.data.length, 2);
    assert.deepEqual(seen.data[0]!.peer, PEER);
    assert.deepEqual(seen.data[0]!.data, enc.encode('back'));
    assert.equal(typeof seen.data[0]!.channel, 'number');
    assert.deepEqual(seen.data[1]!.peer, { host: PEER.host, port: PEER.port + 1 });
    assert.equal(seen.data[1]!.channel, undefined);
    assert.equal(rig.unclaimed, 0);

    assert.equal(await settleStop(w, rig), true);
    assert.equal(rig.client.state, 'stopped');
    assert.equal(w.server.stats().allocations, 0);
    assert.equal(w.ports.openCount, 0);
    assert.equal(w.clock.pendingTimers, 0, 'no timer left on either side');
    assert.equal(rig.client.send(PEER, enc.encode('late')), 'dropped');
  });

  test('refreshes before expiry (and through a stale nonce); the allocation outlives many lifetimes', async () => {
    const { w, rig, seen } = await started({ nonceLifetimeMs: 300_000 });
    await run(w, 3 * 600_000, 5000);
    assert.equal(rig.client.state, 'allocated');
    assert.ok(seen.refreshed.length >= 3, `refreshes: ${seen.refreshed.length}`);
    assert.equal(w.server.stats().allocations, 1);
    assert.ok(w.server.stats().staleNonces >= 1, 'a refresh met a 438 and went on');
    assert.deepEqual(seen.failed, []);
  });

  test('with a short lifetime the refresh comes at half of it', async () => {
    const { w, seen } = await started({ defaultLifetimeS: 60, maxLifetimeS: 60 });
    await run(w, 29_000);
    assert.equal(seen.refreshed.length, 0);
    await run(w, 2000);
    assert.equal(seen.refreshed.length, 1);
  });

  test('permissions are refreshed while the peer is in use and lapse when it is not', async () => {
    const { w, rig, relay } = await started({}, { useChannels: false });
    rig.client.send(PEER, enc.encode('x'));
    await settle(w.net);
    for (let i = 0; i < 12; i++) {
      await run(w, 60_000, 10_000);
      rig.client.send(PEER, enc.encode(`tick ${i}`));
    }
    await settle(w.net);
    assert.equal(w.peerInbox.length, 13, '12 minutes of traffic, the permission kept');
    w.peerSend(relay, enc.encode('reply'));
    await settle(w.net);
    assert.equal(w.server.stats().droppedNoPermission, 0);
    // silence: the client stops refreshing; the server's permission lapses
    await run(w, 600_000, 10_000);
    w.peerSend(relay, enc.encode('too late'));
    await settle(w.net);
    assert.equal(w.server.stats().droppedNoPermission, 1);
    assert.equal(rig.client.state, 'allocated');
  });

  test('channels are re-bound while in use: ChannelData all along 20 minutes of traffic', async () => {
    const { w, rig, seen, relay } = await started();
    rig.client.send(PEER, enc.encode('start'));
    await settle(w.net);
    const before = rig.client.stats().sentChannelData;
    for (let i = 0; i < 40; i++) {
      await run(w, 30_000, 10_000);
      assert.equal(rig.client.send(PEER, enc.encode(`t${i}`)), 'sent');
      w.peerSend(relay, enc.encode(`r${i}`));
    }
    await settle(w.net);
    const s = rig.client.stats();
    assert.equal(s.sentChannelData - before, 40, JSON.stringify(s));
    assert.equal(s.receivedChannelData, 40);
    assert.equal(seen.data.length, 40);
    assert.equal(w.server.stats().droppedUnroutable + w.server.stats().droppedNoPermission, 0);
  });

  test('a server at its channel limit: Send indications, and no ChannelBind per datagram', async () => {
    const { w, rig } = await started({ maxChannelsPerAllocation: 1 });
    const other = { host: PEER.host, port: PEER.port + 10 };
    rig.client.send(PEER, enc.encode('a'));
    await settle(w.net);
    for (let i = 0; i < 20; i++) {
      rig.client.send(other, enc.encode(`b${i}`));
      await settle(w.net);
    }
    assert.equal(w.server.stats().errors[508], 1, 'one refused ChannelBind, then a pause');
    assert.equal(w.ports.ports[0]!.sent.filter((m) => m.to.port === other.port).length, 20, 'all delivered as Send indications');
    await run(w, 61_000, 10_000);
    rig.client.send(other, enc.encode('later'));
    await settle(w.net);
    assert.equal(w.server.stats().errors[508], 2, 'tried again after a minute');
  });

  test('explicit createPermission resolves once confirmed; a forbidden peer resolves false', async () => {
    const { rig, w } = await started();
    const ok = rig.client.createPermission({ host: '203.0.113.77', port: 1 });
    const bad = rig.client.createPermission({ host: '127.0.0.1', port: 1 });
    await settle(w.net);
    assert.equal(await ok, true);
    assert.equal(await bad, false);
  });

  test('a wrong password fails with 401 and leaves nothing at the server', async () => {
    const w = makeWorld();
    const rig = addClient(w, { password: 'nope' });
    const seen = watch(rig);
    rig.client.start();
    await settle(w.net);
    assert.equal(rig.client.state, 'failed');
    assert.equal(seen.failed[0]?.code, 401);
    assert.equal(w.ports.requests.length, 0);
    await settleStop(w, rig);
    assert.equal(w.clock.pendingTimers, 0);
  });

  test('a lost server: refreshes are retried, then the allocation is reported failed', async () => {
    const { w, rig, seen } = await started({}, { retransmission: { maxTransmissions: 2, lastWaitFactor: 2 } });
    w.net.up = false;
    await run(w, 700_000, 5000);
    assert.equal(rig.client.state, 'failed');
    assert.match(seen.failed[0]?.reason ?? '', /Refresh failed/);
    w.net.up = true;
    await settleStop(w, rig);
    assert.equal(w.server.stats().allocations, 0, 'the server expired it meanwhile');
  });

  test('stop() during the Allocate still deletes what the server may have made', async () => {
    const w = makeWorld();
    w.ports.hold = true;
    const rig = addClient(w);
    rig.client.start();
    await settle(w.net);
    assert.equal(w.server.stats().pendingAllocations, 1);
    w.ports.release();
    const stopping = rig.client.stop();
    await settle(w.net);
    await stopping;
    await settle(w.net);
    assert.equal(w.server.stats().allocations, 0);
    assert.equal(w.ports.openCount, 0);
    assert.equal(rig.client.state, 'stopped');
    assert.equal(SERVER.port, 3478);
  });
});

async function settleStop(w: World, rig: ClientRig): Promise<boolean> {
  const p = rig.client.stop();
  for (let i = 0; i < 50; i++) {
    await settle(w.net);
    w.clock.advance(100);
  }
  return p;
}

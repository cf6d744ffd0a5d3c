import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/lib/manual-clock.js';
import { SeededRandom } from '../../../src/lib/random.js';
import { MAX_TWIN_PORT_ATTEMPTS, SipPeer } from '../../../src/node/sip-peer.js';
import { MemoryNetwork } from '../../support/sip/memory-driver.js';
import { TransportError } from '../../../src/sip/transport/transport-error.js';
import { NumericOnlyResolver } from '../../../src/sip/core/target-resolver.js';

const HOST = '192.0.2.7';
const FIRST = 41_000;
const noResolver = new NumericOnlyResolver();

/** A SIP peer asked for UDP and TCP on port 0, with TCP ports FIRST.. FIRST+taken-1 already held on its host. */
function world(taken: number): { peer: SipPeer; network: MemoryNetwork; held: Promise<unknown> } {
  const network = new MemoryNetwork({ firstEphemeralPort: FIRST });
  const driver = network.createDriver({ hosts: [HOST] });
  // what an outgoing TCP connection does to the port the kernel will give UDP next: holds it for TCP
  const held = Promise.all(Array.from({ length: taken }, (_, i) => driver.listen('tcp', HOST, FIRST + i)));
  const peer = new SipPeer(
    { clock: new ManualClock(0), random: new SeededRandom(1), driver, resolver: noResolver, localHosts: [HOST] },
    {
      domains: ['p2psip.local'],
      listen: [
        { protocol: 'udp', host: HOST, port: 0 },
        { protocol: 'tcp', host: HOST, port: 0 },
      ],
      outbound: { mode: 'none' },
      advertisedHost: HOST,
    },
  );
  return { peer, network, held };
}

describe('SipPeer listeners on port 0 (UDP and TCP share the port, RFC 3261 §18)', () => {
  test('the TCP twin of the UDP port is taken: the pair moves to another port, the first UDP port is released', async () => {
    const { peer, network, held } = world(1);
    await held;
    const bound = await peer.start();
    assert.equal(bound.length, 2);
    const [udp, tcp] = bound;
    assert.equal(udp!.protocol, 'udp');
    assert.equal(tcp!.protocol, 'tcp');
    assert.equal(udp!.port, tcp!.port, 'one port for both');
    assert.notEqual(udp!.port, FIRST);
    assert.equal(network.exact.has(`udp|${HOST}|${FIRST}`), false, 'the UDP listener on the first port was closed');
    assert.deepEqual(peer.addresses, bound);
    await peer.stop();
  });

  test(`after ${MAX_TWIN_PORT_ATTEMPTS} taken ports: the bind error, naming the port`, async () => {
    const { peer, held } = world(MAX_TWIN_PORT_ATTEMPTS);
    await held;
    await assert.rejects(peer.start(), (e: unknown) => e instanceof TransportError && e.code === 'TRANSPORT_ADDRESS_IN_USE' && /in use/.test(e.message));
    await peer.stop();
  });
});

/**
 * Issue 12, `--turn-server` precedence (src/node/nat-services.ts firstRelays), over real datagrams on
 * loopback: an "operator" TURN server (offerTurn with a static user, as coturn would be configured)
 * and an overlay TURN peer (offerTurn answering AppAttach 3478) on their own sockets; a NATed peer's
 * two ports (overlay, SIP channels) take their relays at the operator's server first, and from the
 * overlay's TURN peer only when the operator's server refuses them or does not answer.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoRandom } from '../../../src/platform/crypto-random.js';
import { SystemClock } from '../../../src/platform/system-clock.js';
import { UdpPort } from '../../../src/platform/udp-port.js';
import { NatPort } from '../../../src/nat/nat-port.js';
import { CandidateGatherer } from '../../../src/nat/candidate-gatherer.js';
import { firstRelays, offerTurn } from '../../../src/node/nat-services.js';
import type { OverlayTurnSource, RelayAllocation } from '../../../src/node/nat-services.js';
import type { InboundRequest, OverlayAnswer, RequestHandler } from '../../../src/reload/overlay/overlay-types.js';

const random = new CryptoRandom();
const clock = new SystemClock();
const LO = '127.0.0.1';

describe('relays before the Join: the operator TURN server first, overlay TURN peers as the fallback', { timeout: 60_000 }, () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  });

  async function port(): Promise<{ nat: NatPort; udp: UdpPort }> {
    let ref: NatPort | undefined;
    const udp = await UdpPort.bind(LO, 0, (d, from) => ref?.receive(d, from));
    const nat = new NatPort({ socket: udp, clock, random }, { software: 'p2psip-test' });
    ref = nat;
    closers.push(async () => {
      nat.stop();
      await udp.close();
    });
    return { nat, udp };
  }

  async function turnPeer(staticUsers?: Record<string, string>): Promise<{ address: { host: string; port: number }; source: OverlayTurnSource; asked: () => number }> {
    const { nat, udp } = await port();
    let handler: RequestHandler | undefined;
    const offer = offerTurn({ nat, clock, random, address: udp.local, realm: 'first-relays.test', handleApplication: (_a, h) => (handler = h), ...(staticUsers === undefined ? {} : { staticUsers }) });
    closers.push(() => offer.stop());
    let asked = 0;
    const source: OverlayTurnSource = {
      dest: [],
      request: async (_d, code, body): Promise<OverlayAnswer> => {
        asked++;
        const r = await handler!({ code, body, origin: Uint8Array.from({ length: 16 }, (_, i) => i + asked), hops: 1 } as unknown as InboundRequest);
        return 'code' in r ? { ok: true, code: r.code, body: r.body, responder: undefined, hops: 1, signer: undefined } : { ok: false, errorCode: r.error, info: r.info, responder: undefined, hops: 1 };
      },
    };
    return { address: udp.local, source, asked: () => asked };
  }

  async function client(): Promise<Array<{ nat: NatPort; gatherer: CandidateGatherer }>> {
    const a = await port();
    const b = await port();
    return [a, b].map((p) => ({ nat: p.nat, gatherer: new CandidateGatherer([p.udp.local]) }));
  }

  const serverOf = (r: RelayAllocation | undefined): string => (r === undefined ? 'none' : `${r.server.host}:${r.server.port}`);
  const keep = (rs: Array<RelayAllocation | undefined>): void => void closers.push(async () => void (await Promise.all(rs.map((r) => r?.stop()))));

  test('the operator server gives both ports their relays; the overlay is not asked', async () => {
    const operator = await turnPeer({ op: 'op-secret' });
    const overlay = await turnPeer();
    const ports = await client();
    let iterated = 0;
    const got = await firstRelays({
      clock,
      random,
      ports,
      operator: { server: operator.address, username: 'op', password: 'op-secret' },
      sources: async function* () {
        iterated++;
        yield overlay.source;
      },
    });
    keep(got.relays);
    assert.deepEqual(got.relays.map(serverOf), [serverOf({ server: operator.address } as RelayAllocation), serverOf({ server: operator.address } as RelayAllocation)]);
    assert.equal(got.operatorProblem, undefined);
    assert.equal(iterated, 0, 'no bootstrap peer connected for TURN');
    assert.equal(overlay.asked(), 0);
    for (const p of ports) assert.equal(p.gatherer.candidates().filter((c) => c.type === 'relay').length, 1, 'a relayed candidate on each port');
  });

  test('the operator server refuses (wrong password): both relays come from the overlay TURN peer, the problem is kept', async () => {
    const operator = await turnPeer({ op: 'op-secret' });
    const overlay = await turnPeer();
    const ports = await client();
    const got = await firstRelays({ clock, random, ports, operator: { server: operator.address, username: 'op', password: 'wrong' }, sources: async function* () { yield overlay.source; } });
    keep(got.relays);
    const want = `${overlay.address.host}:${overlay.address.port}`;
    assert.deepEqual(got.relays.map(serverOf), [want, want]);
    assert.match(got.operatorProblem ?? '', new RegExp(`^Allocate at ${operator.address.host}:${operator.address.port} over udp: .*401`));
    assert.equal(overlay.asked(), 2, 'credentials asked once per port');
  });

  test('the operator server does not answer: the overlay fallback within the Allocate timeout', async () => {
    const silent = await UdpPort.bind(LO, 0, () => undefined);
    closers.push(() => silent.close());
    const overlay = await turnPeer();
    const ports = await client();
    const t0 = Date.now();
    const got = await firstRelays({ clock, random, ports, timeoutMs: 1_000, operator: { server: silent.local, username: 'op', password: 'x' }, sources: async function* () { yield overlay.source; } });
    keep(got.relays);
    const ms = Date.now() - t0;
    assert.deepEqual(got.relays.map(serverOf), Array(2).fill(`${overlay.address.host}:${overlay.address.port}`));
    assert.match(got.operatorProblem ?? '', /no answer/);
    assert.ok(ms < 2_500, `both ports waited for the operator server at once (${ms} ms)`);
  });

  test('no operator server: the overlay sources in order, the next one when the first gives nothing', async () => {
    const refusing: OverlayTurnSource = { dest: [], request: async () => ({ ok: false, errorCode: 1, info: 'no TURN here', responder: undefined, hops: 1 }) };
    const overlay = await turnPeer();
    const ports = await client();
    const got = await firstRelays({ clock, random, ports, sources: async function* () { yield refusing; yield overlay.source; } });
    keep(got.relays);
    assert.deepEqual(got.relays.map(serverOf), Array(2).fill(`${overlay.address.host}:${overlay.address.port}`));
    assert.equal(got.operatorProblem, undefined);
  });
});

/**
 * Issue 12, unsolicited TURN allocations. On loopback no peer offers TURN (its overlay UDP address is
 * not public, src/nat/address-scope.ts), so the composition a public peer runs is built here in
 * process: NatPort on a real UDP socket (platform/udp-port.ts) on 127.0.0.1, and offerTurn
 * (src/node/nat-services.ts) on it, with its credential book, its AppAttach(3478) handler and an
 * operator's static user. Shown, over real datagrams:
 * - an Allocate without credentials → 401 with REALM and NONCE, nothing allocated, no relay port;
 * - a username the book never issued, or an issued one with a wrong password → 401; a foreign nonce → 438;
 * - 10,000 such Allocates → all refused (answered 401 within the per-source rate, 20/s burst 40, the
 *   rest dropped), nothing allocated, no relay socket opened, heap bounded;
 * - credentials from AppAttach(3478), and the operator's static user, do allocate (a relay socket opens),
 *   and a Refresh with LIFETIME 0 closes it again.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoRandom } from '../../../src/platform/crypto-random.js';
import { SystemClock } from '../../../src/platform/system-clock.js';
import { UdpPort } from '../../../src/platform/udp-port.js';
import { NatPort } from '../../../src/nat/nat-port.js';
import { offerTurn } from '../../../src/node/nat-services.js';
import type { TurnOffer } from '../../../src/node/nat-services.js';
import { StunAttr, StunMethod, attr, checkIntegrity, encodeStun, longTermKey, readErrorCode, readText, readXorAddress, textAttr, u32Attr } from '../../../src/nat/stun/stun-message.js';
import type { DecodedStun, StunAttribute } from '../../../src/nat/stun/stun-message.js';
import { MessageCode, decodeAppAttachReqAns, encodeAppAttachReqAns } from '../../../src/reload/codec/index.js';
import type { InboundRequest, RequestHandler } from '../../../src/reload/overlay/overlay-types.js';
import { TURN_APPLICATION_ID } from '../../../src/usages/turn/turn-app-attach.js';
import { StunProbe, heapUsedAfterGc, turn } from '../helpers/stun-probe.js';

const REALM = 'p2psip.turn-test';
const random = new CryptoRandom();
const utf8 = new TextEncoder();
const utf8d = new TextDecoder();
const UDP_TRANSPORT: StunAttribute = { type: StunAttr.REQUESTED_TRANSPORT, value: Uint8Array.of(17, 0, 0, 0) };

interface Creds {
  user: string;
  password: string;
  nonce: string;
  realm?: string;
}

function turnRequest(method: number, c: Creds | undefined, extra: StunAttribute[] = []): Uint8Array {
  const attributes = [...extra];
  if (c !== undefined) attributes.push(textAttr(StunAttr.USERNAME, c.user), textAttr(StunAttr.REALM, c.realm ?? REALM), textAttr(StunAttr.NONCE, c.nonce));
  const key = c === undefined ? undefined : longTermKey(c.user, c.realm ?? REALM, c.password);
  return encodeStun({ method, cls: 'request', transactionId: random.bytes(12), attributes }, { fingerprint: true, ...(key === undefined ? {} : { integrityKey: key }) });
}
const allocate = (c?: Creds): Uint8Array => turnRequest(StunMethod.Allocate, c, [UDP_TRANSPORT]);

/** UDP sockets of this process (node's UDPWrap handles): the relay ports show here. */
const udpHandles = (): number => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
const code = (m: DecodedStun | undefined): number | undefined => readErrorCode(attr(m!, StunAttr.ERROR_CODE))?.code;

describe('unsolicited TURN allocations at a TURN-offering peer (NatPort + offerTurn on a real socket)', { timeout: 60_000 }, () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  });

  test('no credentials / unknown user / wrong password → 401, a flood allocates nothing; issued and static users allocate', async () => {
    const clock = new SystemClock();
    let natRef: NatPort | undefined;
    const udp = await UdpPort.bind('127.0.0.1', 0, (d, from) => natRef?.receive(d, from));
    closers.push(() => udp.close());
    const nat = new NatPort({ socket: udp, clock, random }, { software: 'p2psip' });
    natRef = nat;
    let appAttach: RequestHandler | undefined;
    const offer: TurnOffer = offerTurn({
      nat,
      clock,
      random,
      address: udp.local, // offerTurn takes the address it is given: loopback here
      realm: REALM,
      handleApplication: (app, h) => {
        assert.equal(app, TURN_APPLICATION_ID);
        appAttach = h;
      },
      staticUsers: { operator: 'operator-secret-0001' },
    });
    closers.push(() => offer.stop());
    const server = { host: '127.0.0.1', port: udp.local.port };
    const client = await StunProbe.open('127.0.0.1');
    closers.push(() => client.close());
    const handlesBefore = udpHandles();

    // 1. no credentials: 401 with REALM and NONCE, nothing kept
    const challenge = await client.ask(allocate(), server, 200, 3);
    assert.equal(challenge?.cls, 'error');
    assert.equal(code(challenge), 401);
    assert.equal(readText(attr(challenge!, StunAttr.REALM)), REALM);
    const nonce = readText(attr(challenge!, StunAttr.NONCE));
    assert.ok(nonce !== undefined && nonce.length > 0, 'a NONCE');
    // 2. a user the credential book never issued (with the right realm and a good nonce): 401
    assert.equal(code(await client.ask(allocate({ user: 'stranger', password: 'whatever-password-1', nonce }), server, 200, 3)), 401);
    // the operator's user with a wrong password: 401; a nonce that is not ours: 438
    assert.equal(code(await client.ask(allocate({ user: 'operator', password: 'not-the-secret', nonce }), server, 200, 3)), 401);
    assert.equal(code(await client.ask(allocate({ user: 'operator', password: 'operator-secret-0001', nonce: '0'.repeat(36) }), server, 200, 3)), 438);
    let s = offer.server.stats();
    assert.equal(s.allocations + s.pendingAllocations + s.allocationsCreated, 0, 'nothing allocated');
    assert.equal(udpHandles(), handlesBefore, 'no relay port opened');

    // 3. a flood: 10,000 Allocates, half without credentials, half with made-up users
    client.answers.clear();
    await heapUsedAfterGc(); // warm
    const heapBefore = await heapUsedAfterGc();
    const inBefore = udp.counters().datagramsIn;
    const statsBefore = offer.server.stats();
    const received0 = client.received;
    const N = 10_000;
    for (let i = 0; i < N; i += 25) {
      for (let j = i; j < i + 25; j++) client.send(j % 2 === 0 ? allocate() : allocate({ user: `user${j}`, password: `password-${j}`, nonce }), server);
      await turn();
    }
    await new Promise((r) => setTimeout(r, 300));
    const read = udp.counters().datagramsIn - inBefore;
    s = offer.server.stats();
    const challenges = s.challenges - statsBefore.challenges;
    const authFailures = s.authFailures - statsBefore.authFailures;
    const dropped = s.unauthenticatedDropped - statsBefore.unauthenticatedDropped;
    console.log(`TURN flood: ${N} sent, ${read} read by the port, ${challenges} challenged, ${authFailures} refused, ${dropped} not answered (rate), ${client.received - received0} answers`);
    assert.ok(read >= N * 0.9, `most of the flood reached the server: ${read}`);
    assert.equal(challenges + authFailures + dropped, read, 'every Allocate read was answered 401 or, past its source rate, dropped');
    // one source: at most the burst (40) plus 20/s for the flood's duration is answered
    assert.ok(challenges + authFailures <= 40 + 20 * 5, `answers bounded by the per-source rate: ${challenges + authFailures}`);
    assert.equal(s.allocations, 0);
    assert.equal(s.pendingAllocations, 0);
    assert.equal(s.allocationsCreated, 0);
    assert.equal(udpHandles(), handlesBefore, 'no relay port opened by the flood');
    let not401 = 0;
    for (const m of client.answers.values()) if (m.cls !== 'error' || code(m) !== 401) not401++;
    assert.equal(not401, 0, 'only 401s');
    assert.equal(nat.counters().bindingRateLimited, 0, 'TURN is not touched by the Binding limit');
    client.answers.clear();
    // The TURN server keeps nothing for a client that has not authenticated (stateless nonces): 4 MB,
    // ~400 bytes per request, is far less than keeping each request, and over ten times the noise.
    const grown = (await heapUsedAfterGc()) - heapBefore;
    assert.ok(grown < 4 * 1024 * 1024, `heap grew ${(grown / 1024 / 1024).toFixed(2)} MB over the TURN flood`);

    // 4. an overlay member's credentials (AppAttach 3478) allocate
    assert.ok(appAttach !== undefined);
    const req: Partial<InboundRequest> = {
      code: MessageCode.app_attach_req,
      body: encodeAppAttachReqAns({ ufrag: utf8.encode('REQUESTERufrag01'), password: utf8.encode('REQUESTERpasswordREQUEST'), application: TURN_APPLICATION_ID, role: utf8.encode('active'), candidates: [] }),
      origin: Uint8Array.from({ length: 16 }, (_, i) => i),
      hops: 1,
    };
    const reply = await appAttach(req as InboundRequest);
    assert.ok('code' in reply, JSON.stringify(reply));
    const grant = decodeAppAttachReqAns(reply.body);
    assert.ok(grant.ok);
    const member: Creds = { user: utf8d.decode(grant.value.ufrag), password: utf8d.decode(grant.value.password), nonce };
    const okMember = await client.ask(allocate(member), server, 500, 3);
    assert.equal(okMember?.cls, 'success', `member: ${code(okMember)}`);
    assert.ok(checkIntegrity(okMember!, longTermKey(member.user, REALM, member.password)));
    const relayed = readXorAddress(attr(okMember!, StunAttr.XOR_RELAYED_ADDRESS), okMember!.transactionId);
    assert.equal(relayed?.host, '127.0.0.1');
    assert.equal(udpHandles(), handlesBefore + 1, 'one relay port');

    // 5. the operator's static user allocates too (from another client address: one allocation per 5-tuple)
    const operatorClient = await StunProbe.open('127.0.0.1');
    closers.push(() => operatorClient.close());
    const handlesWithOperatorClient = udpHandles();
    const op: Creds = { user: 'operator', password: 'operator-secret-0001', nonce };
    const okOp = await operatorClient.ask(allocate(op), server, 500, 3);
    assert.equal(okOp?.cls, 'success', `operator: ${code(okOp)}`);
    assert.equal(offer.server.stats().allocations, 2);
    assert.equal(udpHandles(), handlesWithOperatorClient + 1);

    // Refresh with LIFETIME 0 deletes an allocation and closes its relay port
    for (const [c, cred] of [[client, member], [operatorClient, op]] as const) {
      const del = await c.ask(turnRequest(StunMethod.Refresh, cred, [u32Attr(StunAttr.LIFETIME, 0)]), server, 500, 3);
      assert.equal(del?.cls, 'success');
    }
    assert.equal(offer.server.stats().allocations, 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(udpHandles(), handlesBefore + 1, 'both relay ports closed (left: the port and the two clients)');
  });
});

/**
 * One call followed across the logs of the peers on its path (issue 17): two peers built by
 * startPeer in one process, each logging JSON lines at debug into its own file through the
 * process logger (src/platform/logger.ts); a phone registered at A is called by a phone at B. Each
 * peer's log has a line carrying the call's Call-ID as `callId`, and the RELOAD transaction B made
 * to reach A (its AppAttach) appears in both logs under the same `tid`.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer, type RunningPeer } from '../../src/node/run-peer.js';
import { createLogger } from '../../src/platform/logger.js';
import { loopbackPeerConfig } from './helpers/loopback-peer-config.js';
import { callUntilAnswered, SipPhoneProbe } from './helpers/sip-phone-probe.js';
import { until } from './helpers/until.js';

const OVERLAY = 'p2psip.local';

interface Line {
  level: number;
  msg: string;
  callId?: string;
  tid?: string;
  method?: string;
  [k: string]: unknown;
}

describe('log correlation across peers', { timeout: 90_000 }, () => {
  const peers: RunningPeer[] = [];
  const fds: number[] = [];
  const phones: SipPhoneProbe[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'p2psip-logcorr-'));
  after(async () => {
    for (const ph of phones) ph.close();
    for (const p of peers) await p.stop().catch(() => {});
    for (const fd of fds) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  async function peer(name: string, bootstrap: Array<{ host: string; port: number }>): Promise<{ peer: RunningPeer; lines: () => Line[] }> {
    const file = join(dir, `${name}.log`);
    const fd = openSync(file, 'w');
    fds.push(fd);
    const logger = createLogger({ level: 'debug', format: 'json', fd });
    const p = await startPeer(loopbackPeerConfig(join(dir, name), bootstrap, { overlay: OVERLAY }), logger);
    peers.push(p);
    const lines = (): Line[] =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Line);
    return { peer: p, lines };
  }
  const udp = (p: RunningPeer): { host: string; port: number } => p.sipAddresses.find((x) => x.protocol === 'udp')!;

  test('a log line from each peer on the path carries the same callId; the AppAttach the same tid', async () => {
    const a = await peer('a', []);
    const b = await peer('b', [a.peer.overlay!.listen!]);
    await until('joined', 20_000, () => (peers.every((p) => p.overlay!.node.state === 'joined') ? undefined : 'joining'));
    const alice = await SipPhoneProbe.open('alice', udp(a.peer), OVERLAY);
    const bob = await SipPhoneProbe.open('bob', udp(b.peer), OVERLAY);
    phones.push(alice, bob);
    assert.match(await alice.register(), /^SIP\/2\.0 200/);

    const callId = await callUntilAnswered(bob, alice, `sip:alice@${OVERLAY}`);

    const atA = a.lines().filter((l) => l.callId === callId);
    const atB = b.lines().filter((l) => l.callId === callId);
    console.log(`callId ${callId}\n  at B: ${atB.map((l) => l.msg).join(' | ')}\n  at A: ${atA.map((l) => l.msg).join(' | ')}`);
    // the caller's peer: the INVITE from bob's phone, sent on to the callee's peer
    assert.ok(atB.some((l) => l.msg === 'call: INVITE from a phone' && l.level === 20));
    assert.ok(atB.some((l) => l.msg.startsWith("call: INVITE forwarded to the callee's peer at ") && l.level === 20));
    // the callee's peer: the INVITE from a peer, delivered to alice's phone
    assert.ok(atA.some((l) => l.msg === 'call: INVITE from a peer' && l.level === 20));
    assert.ok(atA.some((l) => l.msg === `call: INVITE from a peer delivered to ${alice.contact}` && l.level === 20));
    for (const lines of [atA, atB]) assert.ok(lines.some((l) => l.msg === 'call: answered'));

    // the AppAttach B sent to reach A: answered at B, served at A, under one transaction id
    const sent = b.lines().filter((l) => l.msg === 'reload: app_attach answered' && typeof l.tid === 'string');
    const served = new Set(a.lines().filter((l) => l.msg === 'reload: app_attach served').map((l) => l.tid));
    assert.ok(sent.length >= 1, 'B logged its AppAttach');
    assert.ok(
      sent.some((l) => served.has(l.tid)),
      `a tid of B's AppAttach (${sent.map((l) => l.tid).join(', ')}) in A's log (${[...served].join(', ')})`,
    );
    for (const l of sent) assert.match(String(l.tid), /^[0-9a-f]{16}$/);
  });
});

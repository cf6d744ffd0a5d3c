/**
 * Issue 15, enrolled overlays: `p2psip enroll-server --sip-digest` puts a p2psip:sip-digest-verifier
 * URL in the configuration document; its peers then challenge their phones and ask the enrollment
 * server (HTTPS, the overlay CA) whether an answer was made with the password of its users file.
 * Two `p2psip up` peers enrolled as alice and bob: alice's phone at alice's peer, 401 → 200 with the
 * users-file password, 403 with another; reached from bob's peer. Without --sip-digest nothing
 * changes (sip-overlay-enrolled.test.ts).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnrollServerProcess } from './helpers/enroll-server-process.js';
import { startEnrollment } from './helpers/enrolled-overlay.js';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { AuthPhone } from './helpers/auth-phone.js';
import { until } from './helpers/until.js';

const OVERLAY = 'auth-enrolled.test';

describe('enrolled overlay with --sip-digest: phones prove the users-file password', { timeout: 180_000 }, () => {
  let dir = '';
  let server: EnrollServerProcess | undefined;
  const peers: PeerProcess[] = [];
  const phones: AuthPhone[] = [];
  after(async () => {
    for (const ph of phones) ph.close();
    for (const p of peers) await p.stop('SIGKILL', false);
    await server?.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  test('401 → 200 with the password, 403 without, reached from the other peer; status says closed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'p2psip-authe-'));
    const e = await startEnrollment(dir, OVERLAY, ['alice', 'bob'], { serverArgs: ['--sip-digest'] });
    server = e.server;
    for (const [i, u] of ['alice', 'bob'].entries()) peers.push(await startPeerProcess([...e.peerArgs(u), '--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn', ...e.placeArgs(i)], 60_000));
    const [a, b] = peers as [PeerProcess, PeerProcess];
    const st = (await (await fetch(`http://${a.http!}/api/status`)).json()) as { auth: { mode: string } };
    assert.equal(st.auth.mode, 'closed');

    const wrong = await AuthPhone.open('alice', a.sip.get('udp')!, OVERLAY);
    phones.push(wrong);
    assert.match(await wrong.register('not-it'), /^SIP\/2\.0 403/);
    const alice = await AuthPhone.open('alice', a.sip.get('udp')!, OVERLAY);
    phones.push(alice);
    assert.match(await alice.register(e.password('alice')), /^SIP\/2\.0 200/);

    const caller = await AuthPhone.open('carol', b.sip.get('udp')!, OVERLAY, 'elsewhere.example');
    phones.push(caller);
    await until('MESSAGE from B reaches alice', 60_000, async () => {
      const m = caller.send('MESSAGE', `sip:alice@${OVERLAY}`);
      const got = await alice.udp.waitFor((x) => x.startsWith('MESSAGE ') && x.includes(`Call-ID: ${m.callId}`), 8_000, 'MESSAGE').catch(() => undefined);
      if (got === undefined) return 'not delivered';
      alice.answer(got, 200);
      return /^SIP\/2\.0 200/.test(await caller.finalFor(m.callId, m.cseq)) ? undefined : 'no 200';
    });
  });
});

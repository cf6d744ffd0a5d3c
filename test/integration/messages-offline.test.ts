/**
 * Issue 16 on real sockets in one process: messages for absent users. Four CLOSED peers (real overlay
 * over mutual TLS, real storage, SIP fronts on loopback). A caller at C sends 20 MESSAGEs to bob, who
 * is not registered anywhere: each is answered 202 once the overlay keeps it; the 21st finds the box
 * full (480 with the reason); one over the size limit gets 413. Bob registers at B with his password:
 * his phone receives the 20 in the order they were sent, with their original From and Date, and once
 * each is answered the box is empty (the kept messages are removed, none comes twice). A peer with
 * no write grant for bob cannot remove bob's messages.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer, type RunningPeer } from '../../src/node/run-peer.js';
import { ReloadErrorCode } from '../../src/reload/codec/index.js';
import { MAX_KEPT_BODY_BYTES, MAX_KEPT_PER_RECIPIENT, MESSAGE_KIND_ID } from '../../src/usages/messages/message-box.js';
import { loopbackPeerConfig } from './helpers/loopback-peer-config.js';
import { AuthPhone } from './helpers/auth-phone.js';
import { until } from './helpers/until.js';
import { receiveMessages, sendMessage } from './helpers/kept-messages.js';

const OVERLAY = 'p2psip.local';
const quiet = { info: () => {}, warn: () => {} };

describe('messages for absent users: kept in the overlay, delivered at registration', { timeout: 180_000 }, () => {
  const peers: RunningPeer[] = [];
  const dirs: string[] = [];
  const phones: AuthPhone[] = [];
  after(async () => {
    for (const ph of phones) ph.close();
    for (const p of peers) await p.stop().catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function peer(bootstrap: Array<{ host: string; port: number }>, http = false): Promise<RunningPeer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'p2psip-msg-'));
    dirs.push(dataDir);
    const config = loopbackPeerConfig(dataDir, bootstrap, { overlay: OVERLAY, ...(http ? { http: { host: '127.0.0.1', port: 0 } } : {}) }, { open: false });
    const p = await startPeer(config, quiet);
    peers.push(p);
    return p;
  }
  const udp = (p: RunningPeer): { host: string; port: number } => p.sipAddresses.find((x) => x.protocol === 'udp')!;
  const b64 = (s: string): string => Buffer.from(s).toString('base64');

  const message = (phone: AuthPhone, n: number, body: string): Promise<string> => sendMessage(phone, `sip:bob@${OVERLAY}`, n, body);

  test('20 MESSAGEs kept while bob is away, delivered in order when he registers at another peer, then removed', async () => {
    const a = await peer([], true);
    const boot = [{ host: a.overlay!.listen!.host, port: a.overlay!.listen!.port }];
    const b = await peer(boot);
    const c = await peer(boot);
    const d = await peer(boot);
    await until('joined', 30_000, () => (peers.every((p) => p.overlay!.node.state === 'joined') ? undefined : 'joining'));
    const added = await fetch(`http://${a.http!.host}:${a.http!.port}/api/users/add?user=bob`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.apiToken!.token}`, 'x-p2psip-password': b64('bob-pw') },
    });
    assert.equal(added.status, 200);

    // carol, of a foreign domain (not challenged), at C
    const carol = await AuthPhone.open('carol', udp(c), OVERLAY, 'elsewhere.example');
    phones.push(carol);
    for (let n = 1; n <= MAX_KEPT_PER_RECIPIENT; n++) assert.equal(await message(carol, n, `message number ${n}`), 'SIP/2.0 202 Accepted - kept for delivery when the user registers');
    assert.match(await message(carol, 21, 'one too many'), /^SIP\/2\.0 480 .*message box full/);
    assert.match(await message(carol, 22, 'x'.repeat(MAX_KEPT_BODY_BYTES + 1)), /^SIP\/2\.0 413 /);

    const box = async (at: RunningPeer): Promise<number> => {
      const r = await at.overlay!.storage.stat(MESSAGE_KIND_ID, { resourceName: `bob@${OVERLAY}` }, { keys: [] });
      assert.ok(r.ok, r.ok ? '' : r.info);
      return (r.kind?.values ?? []).filter((m) => m.metadata.value.exists).length;
    };
    assert.equal(await box(d), MAX_KEPT_PER_RECIPIENT);

    // D holds no write grant for bob: it cannot remove his messages
    const listed = await d.overlay!.storage.stat(MESSAGE_KIND_ID, { resourceName: `bob@${OVERLAY}` }, { keys: [] });
    assert.ok(listed.ok);
    const someKey = listed.kind!.values[0]!.metadata;
    assert.equal(someKey.model, 'dictionary');
    const removal = await d.overlay!.storage.store(MESSAGE_KIND_ID, { resourceName: `bob@${OVERLAY}` }, [{ model: 'dictionary', key: someKey.model === 'dictionary' ? someKey.key : new Uint8Array(0), value: { exists: false, value: new Uint8Array(0) } }], { lifetime: 600 });
    assert.equal(removal.ok, false);
    assert.equal(!removal.ok && removal.errorCode, ReloadErrorCode.Forbidden);
    assert.equal(await box(d), MAX_KEPT_PER_RECIPIENT);

    // bob registers at B: the 20 arrive, in order, each answered 200
    const bob = await AuthPhone.open('bob', udp(b), OVERLAY);
    phones.push(bob);
    const got = receiveMessages(bob, MAX_KEPT_PER_RECIPIENT, 60_000);
    assert.match(await bob.register('bob-pw'), /^SIP\/2\.0 200/);
    assert.deepEqual(
      await got.bodies,
      Array.from({ length: MAX_KEPT_PER_RECIPIENT }, (_, i) => `message number ${i + 1}`),
    );
    await until('box emptied', 20_000, async () => {
      const left = await box(d);
      return left === 0 ? undefined : `${left} left`;
    });
    // nothing comes twice
    assert.equal(await got.extra(2_000), undefined, 'no message delivered twice');
  });
});

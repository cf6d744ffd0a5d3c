/**
 * ICE-negotiated DTLS-UDP-SR links between real peers on loopback (RFC 6940 §6.5.1.3, §6.6.4):
 * five peers started with `ice: true` join through a TLS bootstrap link; every other link an Attach
 * opens is an ICE link (host↔host here), the ring forms, and Stores/Fetches cross ICE links.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPeerConfig, type PeerConfig } from '../../../src/node/peer-config.js';
import { startPeer, type RunningPeer } from '../../../src/node/run-peer.js';
import { until } from '../helpers/until.js';
import { SipPhoneProbe } from '../helpers/sip-phone-probe.js';
import { writeFileSync } from 'node:fs';
import { defaultLanConfiguration, serializeOverlayConfiguration } from '../../../src/reload/config/index.js';

const quiet = { info: () => {}, warn: () => {} };

describe('ICE links between peers on loopback', { timeout: 90_000 }, () => {
  const peers: RunningPeer[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const p of peers) await p.stop().catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function peer(bootstrap: Array<{ host: string; port: number }>): Promise<RunningPeer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'p2psip-ice-'));
    dirs.push(dataDir);
    const config: PeerConfig = {
      ...defaultPeerConfig(),
      sip: { host: '127.0.0.1', port: 0 },
      http: undefined,
      reload: { listen: { host: '127.0.0.1', port: 0 }, bootstrap, dataDir, client: false, open: true, configSource: undefined, configCa: undefined, credentials: undefined, ice: true },
    };
    const p = await startPeer(config, quiet);
    peers.push(p);
    return p;
  }

  test('five peers: Attach links are ICE/DTLS-UDP-SR, the ring forms, storage works across them', async () => {
    const a = await peer([]);
    const boot = a.overlay!.listen!;
    for (let i = 0; i < 4; i++) await peer([{ host: boot.host, port: boot.port }]);
    await until('all joined', 30_000, () => (peers.every((p) => p.overlay!.node.state === 'joined') ? undefined : peers.map((p) => p.overlay!.node.state).join()));
    await until('ICE links up', 30_000, () => {
      const open = peers.reduce((n, p) => n + p.overlay!.iceLinks!.describe().filter((l) => l.phase === 'open').length, 0);
      return open >= 4 ? undefined : `${open} open: ${JSON.stringify(peers.map((p) => p.overlay!.iceLinks!.totals))} ${JSON.stringify(peers.map((p) => p.overlay!.iceLinks!.recentFailures().slice(-2)))}`;
    });
    const views = peers.flatMap((p) => p.overlay!.iceLinks!.describe()).filter((l) => l.phase === 'open');
    for (const v of views) assert.equal(v.pair, 'host→host');
    // every peer's successors are the ring's
    const ids = peers.map((p) => p.overlay!.node.status().nodeId).sort();
    await until('ring converged', 30_000, () => {
      for (const p of peers) {
        const st = p.overlay!.node.status();
        const i = ids.indexOf(st.nodeId);
        if (st.successors[0] !== ids[(i + 1) % ids.length]) return `${st.nodeId} → ${st.successors[0]}`;
      }
      return undefined;
    });
    const totals = peers.map((p) => p.overlay!.iceLinks!.totals);
    assert.ok(totals.reduce((n, t) => n + t.opened, 0) >= 4, JSON.stringify(totals));
    assert.equal(totals.reduce((n, t) => n + t.dtlsFailed, 0), 0);
  });

  test('SIP between peers goes over the AppAttach ICE/DTLS channel: MESSAGE and INVITE, responses and ACK back', async () => {
    const [a, , , d] = peers as [RunningPeer, RunningPeer, RunningPeer, RunningPeer];
    const udp = (p: RunningPeer): { host: string; port: number } => p.sipAddresses.find((x) => x.protocol === 'udp')!;
    const alice = await SipPhoneProbe.open('alice', udp(a), 'p2psip.local');
    const dave = await SipPhoneProbe.open('dave', udp(d), 'p2psip.local');
    try {
      assert.match(await alice.register(), /^SIP\/2\.0 200/);
      await a.sipUsage!.location.idle();
      const id1 = dave.send('MESSAGE', 'sip:alice@p2psip.local');
      const m = await alice.udp.waitFor((x) => x.startsWith('MESSAGE ') && x.includes(`Call-ID: ${id1}`), 15_000, 'MESSAGE at alice').catch((e: unknown) => {
        throw new Error(`${String(e).slice(0, 200)} | D channels ${JSON.stringify(d.overlay!.sipLinks!.totals)} ${JSON.stringify(d.overlay!.sipLinks!.recentFailures())} A channels ${JSON.stringify(a.overlay!.sipLinks!.totals)} ${JSON.stringify(a.overlay!.sipLinks!.recentFailures())} chD ${JSON.stringify(d.sipChannels?.stats)} ${JSON.stringify(d.sipChannels?.describe())} chA ${JSON.stringify(a.sipChannels?.stats)} ${JSON.stringify(a.sipChannels?.describe())} Atransport ${JSON.stringify(a.sip.transport.stats())} Aproxy ${JSON.stringify(a.sip.proxy.stats())} locator ${JSON.stringify(d.sipUsage!.locator.stats)} ${JSON.stringify(d.sipUsage!.locator.entries())}`);
      });
      alice.answer(m, 200);
      assert.equal((await dave.finalFor(id1, 15_000)).status, 200);
      const inv = dave.send('INVITE', 'sip:alice@p2psip.local');
      const invite = await alice.waitRequest('INVITE');
      alice.answer(invite, 180, 'Ringing');
      alice.answer(invite, 200);
      assert.equal((await dave.finalFor(inv)).status, 200);
      // the requests crossed peers inside a DTLS channel, not on the SIP fronts' UDP ports
      const chA = a.overlay!.sipLinks!.describe().filter((l) => l.phase === 'open');
      const chD = d.overlay!.sipLinks!.describe().filter((l) => l.phase === 'open');
      assert.ok(chA.length >= 1 && chD.length >= 1, `channels: A ${JSON.stringify(a.overlay!.sipLinks!.totals)} D ${JSON.stringify(d.overlay!.sipLinks!.totals)}`);
      assert.equal(chD[0]!.pair, 'host→host');
      // the same kind of request a peer forwards (marked ;p2psip=peer), sent straight to A's SIP front
      // from outside any channel: refused, never delivered to alice
      const mallory = await SipPhoneProbe.open('mallory', udp(a), 'p2psip.local');
      try {
        const before = alice.udp.received.length;
        const forged = mallory.send('INVITE', `sip:alice@${udp(a).host}:${udp(a).port};p2psip=peer`);
        const refused = await mallory.finalFor(forged);
        assert.equal(refused.status, 403, refused.text.split('\r\n')[0]);
        assert.match(refused.text, /authenticated channel/);
        assert.equal(alice.udp.received.slice(before).filter((x) => x.includes(forged)).length, 0, 'alice never saw it');
      } finally {
        mallory.close();
      }
    } finally {
      alice.close();
      dave.close();
    }
  });

  test('a configuration document that names DTLS as overlay link protocol turns ICE on without --ice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'p2psip-ice-cfg-'));
    dirs.push(dir);
    const file = join(dir, 'overlay.xml');
    writeFileSync(file, serializeOverlayConfiguration({ ...defaultLanConfiguration('dtls.test', 'open'), overlayLinkProtocols: ['DTLS', 'TLS'] }));
    const started: RunningPeer[] = [];
    const start = async (bootstrap: Array<{ host: string; port: number }>): Promise<RunningPeer> => {
      const dataDir = mkdtempSync(join(tmpdir(), 'p2psip-ice-cfg-peer-'));
      dirs.push(dataDir);
      const p = await startPeer(
        {
          ...defaultPeerConfig(),
          overlay: 'dtls.test',
          sip: { host: '127.0.0.1', port: 0 },
          http: undefined,
          reload: { listen: { host: '127.0.0.1', port: 0 }, bootstrap, dataDir, client: false, open: false, configSource: file, configCa: undefined, credentials: undefined },
        },
        quiet,
      );
      peers.push(p);
      started.push(p);
      return p;
    };
    const a = await start([]);
    for (let i = 0; i < 2; i++) await start([a.overlay!.listen!]);
    await until('ICE link up', 30_000, () => (started.some((p) => (p.overlay!.iceLinks?.describe() ?? []).some((l) => l.phase === 'open')) ? undefined : JSON.stringify(started.map((p) => p.overlay!.iceLinks?.totals ?? null))));
    for (const p of started) assert.ok(p.overlay!.iceLinks !== undefined, 'ICE links on, from the configuration');
  });
});

/**
 * LAN discovery (issue 15) in network namespaces: one bridge, three namespaces on 192.0.2.0/24
 * (documentation addresses), no route out. `p2psip up --open` with only a data directory in two of
 * them: the second finds the first (its /api/status lists the candidate) and they form one overlay.
 * From the third, independent mDNS clients resolve what the peers advertise: avahi-daemon (with
 * libnss-mdns for `getent`, avahi-browse / avahi-resolve over a private D-Bus) and `dig` (a
 * legacy unicast query to a peer's port 5353: dig 9.18 connects its UDP socket, so an answer from
 * a peer's own address to a query sent to 224.0.0.251 is refused by the kernel). A spoofed mDNS
 * answer advertising a non-member (a TLS server with a certificate that is not an overlay
 * certificate) is offered, refused at the overlay link and not retried in a tight loop. A baresip
 * configured with only `sip:alice@p2psip.local` (and `dns_server 224.0.0.251:5353`) registers, and
 * so does a linphonec whose registrar is `sip:p2psip.local` (avahi-daemon and libnss-mdns beside it).
 *
 * @test-lane namespaces (runs beside the loopback lane: everything it starts is in its own namespaces)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTools } from '../../harness/require-tools.js';
import { withScope } from '../../harness/process-scope.js';
import { NatLab } from '../../harness/nat-lab/index.js';
import type { LabHost } from '../../harness/nat-lab/index.js';
import { startLabPeer, type LabPeer } from '../../harness/nat-lab/lab-p2psip.js';
import { REPO_ROOT } from '../../harness/paths.js';

const TOOLS = ['ip', 'dig', 'avahi-daemon', 'avahi-browse', 'avahi-resolve', 'dbus-daemon', 'getent', 'openssl', 'baresip', 'linphonec'];

interface DiscoveryStatus {
  fingerprint: string;
  candidates: Array<{ host: string; port: number; source: string; nodeId?: string }>;
  problems: Record<string, number>;
}
interface JoinEntry {
  candidate: string;
  failures: number;
  lastResult?: string;
}

/** Polls `check` until it returns a value (bounded: `timeoutMs`), with a pause between polls. */
async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${String(last)})`}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const discoveryOf = (s: Record<string, unknown>): DiscoveryStatus => s['discovery'] as DiscoveryStatus;
const joinListOf = (s: Record<string, unknown>): JoinEntry[] => ((s['join'] as { list?: JoinEntry[] } | undefined)?.list ?? []);

/** Sends one mDNS response from `host` (the `multicast-dns` package run in its namespace). */
async function sendMdnsResponse(host: LabHost, answers: object[]): Promise<void> {
  const script = `
    const mdns = require('multicast-dns')({ interface: ${JSON.stringify(host.address)}, bind: '0.0.0.0', loopback: false });
    const answers = ${JSON.stringify(answers)}.map((a) => a.type === 'TXT' ? { ...a, data: a.data.map((s) => Buffer.from(s)) } : a);
    mdns.on('ready', () => mdns.respond({ answers }, () => setTimeout(() => mdns.destroy(), 300)));`;
  await host.run(process.execPath, ['-e', script], { cwd: REPO_ROOT, timeoutMs: 10_000 });
}

describe('LAN discovery in network namespaces', () => {
  test('two peers find each other and form one overlay; avahi and dig resolve them; a spoofed non-member is refused', { timeout: 240_000 }, async (t) => {
    if (!requireTools(t, TOOLS)) return;
    await withScope(async (scope) => {
      const lab = await NatLab.builder(scope).options({ publicSubnet: '192.0.2.0/24' }).publicHost('a').publicHost('b').publicHost('c').build();
      assert.deepEqual(await lab.isolationProblems(), []);
      const [ha, hb, hc] = [lab.host('a'), lab.host('b'), lab.host('c')];
      // only a data directory (and the lab's fixed addresses): no --bootstrap
      const a = await startLabPeer(ha, { ice: false, lifetimeMs: 200_000, extraArgs: ['--outbound', 'none'] });
      const b = await startLabPeer(hb, { ice: false, lifetimeMs: 200_000, extraArgs: ['--outbound', 'none'] });
      const aNode = (await a.status())['nodeId'] as string;
      const bNode = (await b.status())['nodeId'] as string;

      // b finds a (mDNS or the multicast bootstrap, whichever answers first), and one overlay forms
      const found = await until('b to discover a', 30_000, async () => discoveryOf(await b.status()).candidates.find((c) => c.host === ha.address && c.port === 6084));
      assert.equal(found.nodeId, aNode);
      await until('one overlay', 60_000, async () => {
        const [sa, sb] = [await a.status(), await b.status()];
        return (sa['successors'] as string[]).includes(bNode) && (sb['successors'] as string[]).includes(aNode) ? true : undefined;
      });

      // an independent mDNS stack in the third namespace: avahi-daemon on a private system bus
      const dir = scope.tempDir('p2psip-avahi-');
      const bus = join(dir, 'bus');
      writeFileSync(
        join(dir, 'bus.conf'),
        `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=${bus}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_type="method_call"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>\n`,
      );
      writeFileSync(
        join(dir, 'avahi-daemon.conf'),
        `[server]\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=${hc.interfaceName}\nenable-dbus=yes\n[wide-area]\nenable-wide-area=no\n[publish]\ndisable-publishing=yes\n`,
      );
      const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${bus}` };
      const dbus = hc.spawn({ command: 'dbus-daemon', args: ['--config-file', join(dir, 'bus.conf'), '--nofork', '--print-address'], lifetimeMs: 120_000, env });
      await dbus.waitForLine(/unix:path=/, { timeoutMs: 10_000 });
      const avahi = hc.spawn({ command: 'avahi-daemon', args: ['--no-drop-root', '--no-chroot', '--no-rlimits', '-f', join(dir, 'avahi-daemon.conf')], lifetimeMs: 120_000, env });
      await avahi.waitForLine(/Server startup complete/, { timeoutMs: 15_000 });

      // DNS-SD browse of our service: both peers, with SRV, A and TXT
      const browse = await until('avahi-browse to list both peers', 20_000, async () => {
        const out = await hc.run('avahi-browse', ['-rpt', '_p2psip._tcp'], { env, timeoutMs: 15_000 });
        const resolved = out.split('\n').filter((l) => l.startsWith('='));
        return resolved.some((l) => l.includes(`;${ha.address};6084;`)) && resolved.some((l) => l.includes(`;${hb.address};6084;`)) ? resolved : undefined;
      });
      assert.ok(browse.some((l) => l.includes(`"n=${aNode}"`) && l.includes('"v=1"') && l.includes('"o=p2psip.local"')), browse.join('\n'));
      // the SIP domain: avahi-resolve (D-Bus) and getent (libnss-mdns: what a phone's getaddrinfo sees)
      const resolved = await until('avahi-resolve p2psip.local', 20_000, async () => {
        const out = await hc.run('avahi-resolve', ['-4', '-n', 'p2psip.local'], { env, timeoutMs: 10_000 });
        return /^p2psip\.local\s+192\.0\.2\.\d+/m.test(out) ? out : undefined;
      });
      assert.ok([ha.address, hb.address].some((x) => resolved.includes(x)), resolved);
      const viaNss = await hc.run('getent', ['hosts', 'p2psip.local'], { timeoutMs: 10_000 });
      assert.match(viaNss, /^192\.0\.2\.\d+\s+p2psip\.local/m);
      // DNS-SD browse of the SIP service in the domain
      const sipBrowse = await until('avahi-browse _sip._udp in p2psip.local', 20_000, async () => {
        const out = await hc.run('avahi-browse', ['-rpt', '-d', 'p2psip.local', '_sip._udp'], { env, timeoutMs: 15_000 });
        return out.split('\n').some((l) => l.startsWith('=') && l.includes(';5060;')) ? out : undefined;
      });
      assert.ok(sipBrowse.includes(ha.address) || sipBrowse.includes(hb.address));
      // dig: A and SRV from one peer by legacy unicast
      const digA = await hc.run('dig', ['+time=2', '+tries=2', '+short', '-p', '5353', `@${ha.address}`, 'p2psip.local', 'A'], { timeoutMs: 15_000 });
      assert.equal(digA.trim(), ha.address);
      const digSrv = await hc.run('dig', ['+time=2', '+tries=2', '+short', '-p', '5353', `@${hb.address}`, '_sip._udp.p2psip.local', 'SRV'], { timeoutMs: 15_000 });
      assert.match(digSrv.trim(), new RegExp(`^0 0 5060 p2psip-${bNode.slice(0, 12)}\\.local\\.$`));
      const digTcp = await hc.run('dig', ['+time=2', '+tries=2', '+short', '-p', '5353', `@${ha.address}`, '_sip._tcp.p2psip.local', 'SRV'], { timeoutMs: 15_000 });
      assert.match(digTcp.trim(), /^0 0 5060 p2psip-[0-9a-f]{12}\.local\.$/);
      // linphonec knowing only sip:p2psip.local as its registrar: belle-sip browses _sip._udp in the
      // domain through avahi (our instances carry no prio/weight/ttl TXT keys, so it does not take
      // them: it would read their port byte-swapped), then resolves the domain with getaddrinfo
      // (libnss-mdns → avahi → our A answer) and registers on port 5060
      const lpHome = scope.tempDir('p2psip-linphonec-');
      mkdirSync(join(lpHome, '.local', 'share', 'linphone'), { recursive: true });
      writeFileSync(
        join(lpHome, '.linphonerc'),
        [
          '[sip]', 'sip_port=5072', `bind_address=${hc.address}`, 'use_ipv6=0', 'default_proxy=0', 'register_only_when_network_is_up=0', 'im_notif_policy=none',
          '[rtp]', `bind_address=${hc.address}`, 'audio_rtp_port=21000-21010',
          '[video]', 'enabled=0', 'capture=0', 'display=0',
          '[proxy_0]', 'reg_proxy=<sip:p2psip.local>', 'reg_identity=sip:carol@p2psip.local', 'reg_expires=600', 'reg_sendregister=1', 'publish=0', '',
        ].join('\n'),
      );
      const lp = hc.spawn({ command: 'linphonec', args: [], cwd: lpHome, env: { ...env, HOME: lpHome, XDG_DATA_HOME: join(lpHome, '.local', 'share') }, lifetimeMs: 60_000 });
      lp.write('soundcard use files\n');
      await until('linphonec to register at p2psip.local', 30_000, async () => {
        const since = lp.lineCount();
        lp.write('proxy list\n');
        const line = await lp.waitForLine(/registered: (yes|no)/, { timeoutMs: 5_000, since });
        return line.includes('registered: yes') ? true : undefined;
      });
      lp.write('quit\n');
      await lp.stop();
      await avahi.stop();
      await dbus.stop();

      // a phone that knows only alice@p2psip.local: baresip's own resolver asks the mDNS group by
      // legacy unicast (NAPTR → SRV → A, all in one answer) and registers at whichever peer answered
      await hc.run('ip', ['route', 'add', '224.0.0.0/4', 'dev', hc.interfaceName]); // a link-scope route, not a way out
      const phoneDir = scope.tempDir('p2psip-baresip-');
      writeFileSync(
        join(phoneDir, 'config'),
        [`sip_listen ${hc.address}:5070`, `net_interface ${hc.interfaceName}`, 'dns_server 224.0.0.251:5353', 'module_path /usr/lib/baresip/modules', 'module g711.so', 'module account.so', 'audio_player aufile,/dev/null', 'audio_source aufile,/dev/null', ''].join('\n'),
      );
      writeFileSync(join(phoneDir, 'accounts'), '<sip:alice@p2psip.local>;regint=600\n');
      const phone = hc.spawn({ command: 'baresip', args: ['-f', phoneDir, '-t', '20'], lifetimeMs: 30_000 });
      const registered = await phone.waitForLine(/alice@p2psip\.local: .*200 OK/, { timeoutMs: 20_000 });
      assert.match(registered, /200 OK/);
      await phone.stop();

      // a spoofed answer: our service, overlay and configuration fingerprint, pointing at a TLS
      // server whose certificate is no overlay certificate (a non-member)
      const key = join(dir, 'evil.key');
      const cert = join(dir, 'evil.crt');
      await hc.run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=not-a-member', '-days', '1', '-keyout', key, '-out', cert], { timeoutMs: 20_000 });
      const evil = hc.spawn({ command: 'openssl', args: ['s_server', '-quiet', '-accept', `${hc.address}:6084`, '-cert', cert, '-key', key], lifetimeMs: 120_000 });
      await until('the fake TLS server', 10_000, async () => ((await hc.tryRun('ss', ['-ltn', `sport = :6084`])).stdout.includes(':6084') ? true : undefined));
      const fp = discoveryOf(await a.status()).fingerprint;
      const fakeId = 'ee'.repeat(16);
      const inst = `${fakeId.slice(0, 12)}._p2psip._tcp.local`;
      const target = `p2psip-${fakeId.slice(0, 12)}.local`;
      await sendMdnsResponse(hc, [
        { type: 'PTR', name: '_p2psip._tcp.local', ttl: 120, data: inst },
        { type: 'SRV', name: inst, ttl: 120, data: { priority: 0, weight: 0, port: 6084, target } },
        { type: 'TXT', name: inst, ttl: 120, data: ['v=1', 'o=p2psip.local', `c=${fp}`, `n=${fakeId}`] },
        { type: 'A', name: target, ttl: 120, data: hc.address },
      ]);
      const spoofed = await until('a to list the spoofed candidate', 15_000, async () => discoveryOf(await a.status()).candidates.find((c) => c.host === hc.address));
      assert.equal(spoofed.nodeId, fakeId);
      // the joining logic tried it: refused at the link, backed off
      const tried = await until('a to try the spoofed candidate', 20_000, async () => joinListOf(await a.status()).find((e) => e.candidate === `${hc.address}:6084` && e.failures >= 1));
      assert.notEqual(tried.lastResult, 'merged');
      // the same spoofed answer repeated ten times within a few seconds: not a tight retry loop
      for (let i = 0; i < 10; i++) await sendMdnsResponse(hc, [{ type: 'SRV', name: inst, ttl: 120, data: { priority: 0, weight: 0, port: 6084, target } }, { type: 'TXT', name: inst, ttl: 120, data: ['v=1', 'o=p2psip.local', `c=${fp}`, `n=${fakeId}`] }, { type: 'A', name: target, ttl: 120, data: hc.address }]);
      const after = await a.status();
      const entry = joinListOf(after).find((e) => e.candidate === `${hc.address}:6084`);
      assert.ok(entry !== undefined && entry.failures <= 6, JSON.stringify(entry));
      assert.ok(!(after['successors'] as string[]).includes(fakeId) && !(after['predecessors'] as string[]).includes(fakeId));
      assert.deepEqual(after['successors'], [bNode]);
      await evil.stop();
      const finals: LabPeer[] = [a, b];
      for (const p of finals) await p.proc.stop();
    });
  });
});

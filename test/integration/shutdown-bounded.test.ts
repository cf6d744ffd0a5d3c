/**
 * Shutdown is bounded (issue 14): a peer whose neighbours were killed (`kill -9`) or frozen (SIGSTOP:
 * their links stay open, nothing is answered) still ends, with exit code 0, within 10 s of SIGTERM;
 * a clean stop in a healthy ring does not wait out the Leave's 2 s timer (the peer asked to Leave
 * answers before it drops the link). Real processes on loopback.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';
import { SipPhoneProbe } from './helpers/sip-phone-probe.js';
import { until } from './helpers/until.js';

interface Status {
  nodeId: string;
  state: string;
  successors: string[];
  predecessors: string[];
}

async function status(p: PeerProcess): Promise<Status> {
  const r = await fetch(`http://${p.http}/api/status`, { signal: AbortSignal.timeout(5000) });
  return (await r.json()) as Status;
}

/** Undefined once every peer lists every other as a neighbour. */
async function ringProblem(peers: PeerProcess[]): Promise<string | undefined> {
  for (const p of peers) {
    const s = await status(p);
    if (s.state !== 'joined') return `${s.nodeId} is ${s.state}`;
    const others = peers.filter((q) => q !== p).map((q) => q.nodeId!);
    for (const o of others) if (!s.successors.includes(o) && !s.predecessors.includes(o)) return `${s.nodeId} does not list ${o}`;
  }
  return undefined;
}

/** SIGTERM, then the time to the process's exit (at most `limitMs`, then SIGKILL) and its exit code. */
async function terminate(p: PeerProcess, limitMs: number): Promise<{ ms: number; code: number | null; timedOut: boolean }> {
  const t0 = Date.now();
  const exited = new Promise<number | null>((resolve) => {
    if (p.child.exitCode !== null) resolve(p.child.exitCode);
    else p.child.once('exit', (code) => resolve(code));
  });
  p.child.kill('SIGTERM');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.child.kill('SIGKILL');
  }, limitMs);
  const code = await exited;
  clearTimeout(timer);
  return { ms: Date.now() - t0, code, timedOut };
}

/**
 * REGISTERs `count` distinct AoRs (`<prefix><i>`) at a peer's UDP SIP front, at most `window`
 * unanswered at once, as a phone would: a request told 503 is sent again after its Retry-After
 * (at most 1 s here), one left unanswered 2 s is sent again (at most 5 times in all); resolves with
 * how many got a 200 within `limitMs`.
 */
async function registerMany(peer: { host: string; port: number }, prefix: string, count: number, window: number, limitMs: number): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  const port = sock.address().port;
  let next = 0;
  let ok = 0;
  let done = 0;
  /** Per AoR index in flight: transmissions so far and its retransmission timer. */
  const inFlight = new Map<number, { sent: number; timer: NodeJS.Timeout }>();
  let settled = (): void => undefined;
  const transmit = (i: number): void => {
    const f = inFlight.get(i) ?? { sent: 0, timer: undefined as unknown as NodeJS.Timeout };
    clearTimeout(f.timer);
    if (f.sent >= 5) {
      inFlight.delete(i);
      done++;
      settled();
      return;
    }
    f.sent++;
    f.timer = setTimeout(() => transmit(i), 2000);
    inFlight.set(i, f);
    const msg = [
      `REGISTER sip:p2psip.local SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${prefix}${i}x${f.sent};rport`,
      'Max-Forwards: 70',
      `From: <sip:${prefix}${i}@p2psip.local>;tag=t${i}`,
      `To: <sip:${prefix}${i}@p2psip.local>`,
      `Call-ID: ${prefix}${i}-${port}`,
      `CSeq: ${f.sent} REGISTER`,
      `Contact: <sip:${prefix}${i}@127.0.0.1:${port}>`,
      'Expires: 600',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    sock.send(msg, peer.port, peer.host);
  };
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, limitMs);
      const fill = (): void => {
        while (next < count && inFlight.size < window) transmit(next++);
        if (done >= count) {
          clearTimeout(timer);
          resolve();
        }
      };
      settled = fill;
      sock.on('message', (m) => {
        const text = m.toString('utf8');
        if (text.startsWith('SIP/2.0 1')) return;
        const id = new RegExp(`^Call-ID: ${prefix}(\\d+)-`, 'im').exec(text);
        const i = id === null ? -1 : Number(id[1]);
        const f = inFlight.get(i);
        if (f === undefined) return;
        clearTimeout(f.timer);
        if (text.startsWith('SIP/2.0 503')) {
          const after = /^Retry-After:\s*(\d+)/im.exec(text);
          f.timer = setTimeout(() => transmit(i), Math.min(1000, 1000 * Number(after?.[1] ?? 1)));
          return;
        }
        inFlight.delete(i);
        done++;
        if (text.startsWith('SIP/2.0 200')) ok++;
        fill();
      });
      fill();
    });
  } finally {
    for (const f of inFlight.values()) clearTimeout(f.timer);
    sock.close();
  }
  return ok;
}

describe('shutdown is bounded (real processes)', { timeout: 180_000 }, () => {
  const peers: PeerProcess[] = [];
  after(async () => {
    await Promise.all(peers.map((p) => p.stop('SIGKILL', true)));
  });
  const common = ['--sip', '127.0.0.1:0', '--http', '127.0.0.1:0', '--outbound', 'none', '--log-level', 'warn'];

  async function ring(n: number): Promise<PeerProcess[]> {
    const ps: PeerProcess[] = [await startPeerProcess(common)];
    const boot = `${ps[0]!.listen!.host}:${ps[0]!.listen!.port}`;
    for (let i = 1; i < n; i++) ps.push(await startPeerProcess([...common, '--bootstrap', boot]));
    peers.push(...ps);
    await until(`a ring of ${n}`, 30_000, () => ringProblem(ps));
    return ps;
  }

  test('kill -9 two peers of a ring of 3, SIGTERM the third: it exits (code 0) within 10 s', async () => {
    const [a, b, c] = await ring(3);
    await a!.stop('SIGKILL', false);
    await b!.stop('SIGKILL', false);
    const r = await terminate(c!, 20_000);
    process.stdout.write(`# SIGTERM to exit with both neighbours killed: ${r.ms} ms, code ${r.code}\n`);
    assert.equal(r.timedOut, false, `still running 20 s after SIGTERM:\n${c!.output().slice(-2000)}`);
    assert.ok(r.ms < 10_000, `exited ${r.ms} ms after SIGTERM (limit 10 s)`);
    assert.equal(r.code, 0);
  });

  test('freeze two peers of a ring of 3 (SIGSTOP: links open, nothing answered), SIGTERM the third: it exits (code 0) within 10 s', async () => {
    const [a, b, c] = await ring(3);
    // registrations to withdraw and data to hand off: every overlay step of the stop has work
    const phones = await Promise.all([1, 2, 3].map((i) => SipPhoneProbe.open(`frozen${i}`, c!.sip.get('udp')!, 'p2psip.local')));
    try {
      for (const ph of phones) assert.match(await ph.register(), /^SIP\/2\.0 200/);
    } finally {
      for (const ph of phones) ph.close();
    }
    a!.child.kill('SIGSTOP');
    b!.child.kill('SIGSTOP');
    const r = await terminate(c!, 20_000);
    const left = c!.output().split('\n').filter((l) => l.includes('stop')).map((l) => `#   ${l}`);
    process.stdout.write(`# SIGTERM to exit with both neighbours frozen: ${r.ms} ms, code ${r.code}\n${left.join('\n')}\n`);
    assert.equal(r.timedOut, false, `still running 20 s after SIGTERM:\n${c!.output().slice(-2000)}`);
    assert.ok(r.ms < 10_000, `exited ${r.ms} ms after SIGTERM (limit 10 s)`);
    assert.equal(r.code, 0);
  });

  test('issue 18: thousands of registrations at a peer whose two neighbours were just killed: it exits (code 0) within 10 s of SIGTERM', async () => {
    // Its neighbours gone, the withdraw of each registration at stop (RFC 7904) is a Store into its
    // own storage: promises with no I/O in between, so the timer bounding that step never fired and
    // the stop took as long as withdrawing everything (~0.7 ms of CPU each: 8,700 AoRs took 6 s).
    const [a, b, c] = await ring(3);
    const ok = await registerMany(b!.sip.get('udp')!, 'held', 3_000, 100, 90_000);
    assert.ok(ok >= 2_900, `only ${ok} of 3,000 REGISTERs got a 200`);
    await a!.stop('SIGKILL', false);
    await c!.stop('SIGKILL', false);
    const r = await terminate(b!, 30_000);
    const left = b!.output().split('\n').filter((l) => l.includes('stop')).map((l) => `#   ${l.slice(0, 200)}`);
    process.stdout.write(`# SIGTERM to exit with ${ok} registrations, both neighbours killed: ${r.ms} ms, code ${r.code}\n${left.join('\n')}\n`);
    assert.equal(r.timedOut, false, `still running 30 s after SIGTERM:\n${b!.output().slice(-2000)}`);
    assert.ok(r.ms < 10_000, `exited ${r.ms} ms after SIGTERM (limit 10 s)`);
    assert.equal(r.code, 0);
  });

  test('a clean stop in a healthy ring of 3 is not held by the Leave timer (2 s)', async () => {
    const [a] = await ring(3);
    // the storage's start-up traffic (certificates published, their replicas) settles first
    await new Promise((r) => setTimeout(r, 3000));
    const r = await terminate(a!, 20_000);
    process.stdout.write(`# SIGTERM to exit in a healthy ring: ${r.ms} ms, code ${r.code}\n`);
    assert.equal(r.code, 0);
    assert.ok(r.ms < 2_000, `exited ${r.ms} ms after SIGTERM`);
  });
});

/**
 * The media relays `npm run bench -- media` puts under the same RTP load, behind one interface:
 * - p2psip: one `p2psip up --media relay` peer pinned to one CPU (taskset on every thread); calls set up
 *   through its SIP front between two phones registered at it (harness/rtp-call-pair.ts), so that it
 *   bridges the two phone-facing relay ports of each call locally;
 * - rtpengine: rtpengine-daemon in userspace (`--table=-1 --num-threads=1`) pinned to the same CPU,
 *   calls set up over its ng protocol (offer/answer, delete at the end);
 * - direct: no relay, each endpoint sends straight to the other of its call: the generator's own
 *   ceiling, to show it can push more than the relays take.
 */
import { execFileSync } from 'node:child_process';
import type { ProcessScope } from '../../harness/process-scope.js';
import { startP2psip } from '../../harness/sip-server.js';
import type { SipServer } from '../../harness/sip-server.js';
import { RtpCallPair } from '../../harness/rtp-call-pair.js';
import { startRtpengine } from '../../harness/rtpengine-daemon.js';
import type { Rtpengine } from '../../harness/rtpengine-daemon.js';
import { audioAddress, audioSdp } from '../../harness/rtp-sdp.js';
import { findInTree, idleRelaySockets, peerStatus, processCpuSeconds, rssBytes, udpDropsInRange, udpSocketsInRange } from '../../harness/rtp-relay-status.js';
import type { MediaStatus } from '../../harness/rtp-relay-status.js';
import type { HostPort } from './rtp-blast.js';

export type SutKind = 'p2psip' | 'rtpengine' | 'direct';

/**
 * INVITEs in flight at once when setting up a trial's calls. A peer binds its relay ports ahead in a
 * small pool (16 pairs) and refills it in the background; with 100 at once a build of 2026-12-06 answered
 * 503 "media port range is exhausted" though the range was nearly empty.
 */
const SETUP_CONCURRENCY = 8;

export interface SetupResult {
  /** Where each generator endpoint sends (same order as the endpoints). */
  readonly destinations: readonly HostPort[];
  readonly setupMs: number;
}

export interface TeardownResult {
  readonly teardownMs: number;
  /** Calls whose hang-up (BYE or ng delete) failed. */
  readonly failed: number;
  /** Relay ports still bound once the calls are gone (after a bounded wait), -1 when not applicable. */
  readonly portsLeft: number;
}

export interface MediaSut {
  readonly kind: SutKind;
  /** Relay process id (undefined for direct). */
  readonly pid: number | undefined;
  /** Command line, for the report. */
  readonly description: string;
  setup(endpoints: readonly HostPort[]): Promise<SetupResult>;
  teardown(): Promise<TeardownResult>;
  /** CPU seconds the relay process used so far. */
  cpuSeconds(): number | undefined;
  rssBytes(): number | undefined;
  /** Kernel drops at the relay's UDP sockets (its media port range). */
  socketDrops(): number;
  /** The peer's /api/status media counters (p2psip only). */
  mediaStatus(): Promise<MediaStatus | undefined>;
  stop(): Promise<void>;
}

export interface SutOptions {
  readonly cpu: string;
  /** Media port range of the relay (inclusive). */
  readonly ports: readonly [number, number];
  readonly lifetimeMs: number;
  readonly log: (line: string) => void;
}

export async function startSut(scope: ProcessScope, kind: SutKind, o: SutOptions): Promise<MediaSut> {
  if (kind === 'p2psip') return startP2psipSut(scope, o);
  if (kind === 'rtpengine') return startRtpengineSut(scope, o);
  return directSut();
}

function directSut(): MediaSut {
  return {
    kind: 'direct',
    pid: undefined,
    description: 'no relay: each endpoint sends to the other endpoint of its call',
    setup: (endpoints) => Promise.resolve({ destinations: endpoints.map((_, i) => endpoints[i ^ 1] ?? { host: '127.0.0.1', port: 9 }), setupMs: 0 }),
    teardown: () => Promise.resolve({ teardownMs: 0, failed: 0, portsLeft: -1 }),
    cpuSeconds: () => undefined,
    rssBytes: () => undefined,
    socketDrops: () => 0,
    mediaStatus: () => Promise.resolve(undefined),
    stop: () => Promise.resolve(),
  };
}

async function startP2psipSut(scope: ProcessScope, o: SutOptions): Promise<MediaSut> {
  const domain = `media${process.pid}.bench`;
  const server: SipServer = await startP2psip(scope, {
    lifetimeMs: o.lifetimeMs,
    logLevel: 'error',
    extraArgs: ['--overlay', domain, '--media', 'relay', '--media-ports', `${o.ports[0]}-${o.ports[1]}`],
  });
  const pid = findInTree(server.process.pid, /dist\/src\/cli\/main\.js/);
  if (pid === undefined) throw new Error('p2psip peer process not found under its timeout wrapper');
  // every thread of the peer (main, libuv pool, V8 helpers) on the one CPU
  execFileSync('taskset', ['-a', '-c', '-p', o.cpu, String(pid)], { stdio: 'ignore', timeout: 5000 });
  const httpPort = server.httpPort ?? 0;
  let pair: RtpCallPair | undefined;
  const openPair = async (): Promise<RtpCallPair> => {
    const p = await RtpCallPair.open({ proxy: { host: '127.0.0.1', port: server.port }, domain });
    await p.register();
    return p;
  };
  pair = await openPair();
  return {
    kind: 'p2psip',
    pid,
    description: `node ${server.process.name} up --media relay --media-ports ${o.ports[0]}-${o.ports[1]} (taskset -a -c ${o.cpu})`,
    async setup(endpoints) {
      const t0 = performance.now();
      pair ??= await openPair();
      const media = [];
      for (let i = 0; i + 1 < endpoints.length; i += 2) media.push({ caller: endpoints[i] as HostPort, callee: endpoints[i + 1] as HostPort });
      // a few INVITEs at a time: the media benchmark is about packets, not about set-up bursts
      const calls = await pair.establish(media, SETUP_CONCURRENCY);
      const destinations: HostPort[] = [];
      for (const c of calls) destinations.push({ host: c.callerSendsTo.host, port: c.callerSendsTo.port }, { host: c.calleeSendsTo.host, port: c.calleeSendsTo.port });
      return { destinations, setupMs: performance.now() - t0 };
    },
    async teardown() {
      const t0 = performance.now();
      const r = pair === undefined ? { ok: 0, failed: 0 } : await pair.hangUpAll(100);
      // released ports: media.portsInUse back to 0 (bounded wait), then the sockets themselves
      const deadline = Date.now() + 10_000;
      let m: MediaStatus | undefined;
      while (Date.now() < deadline) {
        m = (await peerStatus(httpPort)).media;
        if (m?.portsInUse === 0) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      // what stays bound with no call: the trunk port and the pairs kept ready for the next calls
      const left = udpSocketsInRange(o.ports[0], o.ports[1], pid).length - idleRelaySockets(m);
      return { teardownMs: performance.now() - t0, failed: r.failed, portsLeft: Math.max(left, m?.portsInUse ?? 1) };
    },
    cpuSeconds: () => processCpuSeconds(pid),
    rssBytes: () => rssBytes(pid),
    socketDrops: () => udpDropsInRange(o.ports[0], o.ports[1], pid),
    mediaStatus: async () => (await peerStatus(httpPort)).media,
    async stop() {
      pair?.close();
      pair = undefined;
      await server.stop();
    },
  };
}

async function startRtpengineSut(scope: ProcessScope, o: SutOptions): Promise<MediaSut> {
  const ngPort = await scope.port();
  const rtpe: Rtpengine = await startRtpengine(scope, { ngPort, portMin: o.ports[0], portMax: o.ports[1], threads: 1, cpus: o.cpu, lifetimeMs: o.lifetimeMs });
  const pid = findInTree(rtpe.process.pid, /^rtpengine /);
  let calls: { callId: string; fromTag: string }[] = [];
  let seq = 0;
  return {
    kind: 'rtpengine',
    pid,
    description: `taskset -c ${o.cpu} rtpengine ${rtpe.args.join(' ')}`,
    async setup(endpoints) {
      const t0 = performance.now();
      const dest: HostPort[] = new Array<HostPort>(endpoints.length);
      const jobs: number[] = [];
      for (let i = 0; i + 1 < endpoints.length; i += 2) jobs.push(i);
      let next = 0;
      const worker = async (): Promise<void> => {
        for (;;) {
          const i = jobs[next++];
          if (i === undefined) return;
          const a = endpoints[i] as HostPort;
          const b = endpoints[i + 1] as HostPort;
          const callId = `bench-${process.pid}-${++seq}`;
          const fromTag = `ft${seq}`;
          calls.push({ callId, fromTag });
          const toCallee = await rtpe.ng.offer(callId, fromTag, audioSdp({ host: a.host, port: a.port, sessionId: seq }));
          const toCaller = await rtpe.ng.answer(callId, fromTag, `tt${seq}`, audioSdp({ host: b.host, port: b.port, sessionId: seq }));
          const calleeDst = audioAddress(toCallee);
          const callerDst = audioAddress(toCaller);
          if (calleeDst === undefined || callerDst === undefined) throw new Error(`rtpengine ${callId}: no audio address in its SDP`);
          dest[i] = { host: callerDst.host, port: callerDst.port };
          dest[i + 1] = { host: calleeDst.host, port: calleeDst.port };
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
      return { destinations: dest, setupMs: performance.now() - t0 };
    },
    async teardown() {
      const t0 = performance.now();
      let failed = 0;
      const todo = calls;
      calls = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        for (;;) {
          const c = todo[next++];
          if (c === undefined) return;
          try {
            await rtpe.ng.delete(c.callId, c.fromTag);
          } catch {
            failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
      const deadline = Date.now() + 10_000;
      let left = udpSocketsInRange(o.ports[0], o.ports[1], pid).length;
      while (left > 0 && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 200));
        left = udpSocketsInRange(o.ports[0], o.ports[1], pid).length;
      }
      return { teardownMs: performance.now() - t0, failed, portsLeft: left };
    },
    cpuSeconds: () => (pid === undefined ? undefined : processCpuSeconds(pid)),
    rssBytes: () => (pid === undefined ? undefined : rssBytes(pid)),
    socketDrops: () => (pid === undefined ? 0 : udpDropsInRange(o.ports[0], o.ports[1], pid)),
    mediaStatus: () => Promise.resolve(undefined),
    stop: () => rtpe.stop(),
  };
}

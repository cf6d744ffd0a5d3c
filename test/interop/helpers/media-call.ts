/**
 * One call with real audio in the NAT lab (nat-media.test.ts): baresip on the caller's host plays
 * sentence A (padded with silence: the call lasts as long, baresip hangs up at its end) and dumps what
 * it decodes; linphonec on the callee's host (auto-answer) plays sentence B and records. Both use
 * their LAN's peer as registrar and outbound proxy. tshark captures each phone's LAN (the router's LAN
 * bridge, phone traffic only) for the whole call; the peers' /api/status `media` is read before and
 * after. Returns the recordings compared with the sentences, the captures dissected, baresip's own
 * RTP counts and the counters' change — the test decides what must hold.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessScope } from '../../../harness/process-scope.js';
import type { LabHost, NatLab } from '../../../harness/nat-lab/index.js';
import { ROUTER_LAN_BRIDGE } from '../../../harness/nat-lab/lab-site.js';
import { labPeerStatus } from '../../../harness/nat-lab/nat-softphone-status.js';
import { LabBaresip } from '../../../harness/nat-lab/nat-softphone-baresip.js';
import type { LabBaresipRtpSummary } from '../../../harness/nat-lab/nat-softphone-baresip.js';
import { LabLinphonec } from '../../../harness/nat-lab/nat-softphone-linphonec.js';
import { compareAudio, readWav } from '../../../harness/audio-check.js';
import type { AudioComparison } from '../../../harness/audio-check.js';
import { startLabCapture } from './lab-capture.js';
import type { LabCapture } from './lab-capture.js';
import { dissectMedia } from './media-capture-check.js';
import type { MediaDissection, RtpStreamStats, SdpToPhone } from './media-capture-check.js';

const PHONE_SIP_PORT = 5090;
const RTP_PORTS: readonly [number, number] = [10000, 10019];
const STEP_MS = 20_000;
const PHONE_LIFETIME_MS = 90_000;
/** After the source's length: the call's set-up and end, on a busy 2-core machine. */
const CALL_SLACK_MS = 20_000;

export interface MediaCallOptions {
  readonly scope: ProcessScope;
  readonly lab: NatLab;
  /** Working directory of this call (created). */
  readonly dir: string;
  readonly domain: string;
  readonly sentences: { readonly a: string; readonly aPadded: string; readonly b: string; readonly c: string };
  /** Phone hosts and the peer each uses (on its LAN). */
  readonly caller: { readonly host: LabHost; readonly peer: LabHost };
  readonly callee: { readonly host: LabHost; readonly peer: LabHost };
  readonly proxyPort: number;
}

type Counter = 'activeSessions' | 'sessionsTotal' | 'relayedSessionsTotal' | 'directSessionsTotal' | 'portsInUse' | 'fromPhones' | 'toPhones' | 'fromPeers' | 'toPeers' | 'dropped';

/** A peer's /api/status `media`, flattened (packets.* at the top), before and after the call. */
export interface MediaCounters {
  readonly mode: string;
  readonly before: Partial<Record<Counter, number>>;
  readonly after: Partial<Record<Counter, number>>;
  readonly delta: Partial<Record<Counter, number>>;
}

/** A recording compared with the far phone's sentence, an unrelated one and the phone's own. */
export interface RecordingMatch {
  readonly file: string;
  readonly sent: AudioComparison;
  readonly unrelated: AudioComparison;
  readonly own: AudioComparison;
}

export interface Direction {
  /** The stream leaving the sending phone on its LAN (the one with the most packets). */
  readonly sent: RtpStreamStats | undefined;
  /** The stream reaching the receiving phone on its LAN (same SSRC when there is one). */
  readonly received: RtpStreamStats | undefined;
}

export interface MediaCallResult {
  /** dial → CALL_ESTABLISHED at baresip. */
  readonly setupMs: number;
  /** CALL_ESTABLISHED → CALL_CLOSED at baresip. */
  readonly callMs: number;
  readonly audio: { readonly atCallee: RecordingMatch; readonly atCaller: RecordingMatch };
  readonly baresipRtp: LabBaresipRtpSummary;
  /** The captures by site name, dissected. */
  readonly legs: ReadonlyMap<string, MediaDissection>;
  readonly rtp: { readonly callerToCallee: Direction; readonly calleeToCaller: Direction };
  readonly rtcpFrom: { readonly caller: number; readonly callee: number };
  readonly rtcpTo: { readonly caller: number; readonly callee: number };
  readonly sdpToCaller: readonly SdpToPhone[];
  readonly sdpToCallee: readonly SdpToPhone[];
  readonly media: { readonly caller: MediaCounters | undefined; readonly callee: MediaCounters | undefined };
}

export async function runMediaCall(o: MediaCallOptions): Promise<MediaCallResult> {
  mkdirSync(o.dir, { recursive: true });
  const { caller, callee } = o;
  const before = await Promise.all([mediaOf(caller.peer), mediaOf(callee.peer)]);

  // one capture per LAN that holds a phone, of the phones' traffic only
  const sites = new Map<string, LabHost[]>();
  for (const h of [caller.host, callee.host]) {
    const site = h.site?.name;
    if (site === undefined) throw new Error(`${h.name} is not on a LAN`);
    sites.set(site, [...(sites.get(site) ?? []), h]);
  }
  const captures = new Map<string, LabCapture>();
  try {
    for (const [site, hosts] of sites) {
      captures.set(site, await startLabCapture(o.lab.site(site).router, {
        file: join(o.dir, `${site}-lan.pcapng`),
        iface: ROUTER_LAN_BRIDGE,
        filter: `udp and (${hosts.map((h) => `host ${h.address}`).join(' or ')})`,
        durationS: 80,
        maxPackets: 100_000,
        markFrom: hosts[0]!,
        markTo: o.lab.site(site).gateway,
      }));
    }
  } catch (e) {
    await Promise.allSettled([...captures.values()].map((c) => c.stop()));
    throw e;
  }

  const linRecording = join(o.dir, 'linphonec-received.wav');
  const [bare, lin] = await Promise.all([
    LabBaresip.start(caller.host, {
      user: 'bare', domain: o.domain, dir: join(o.dir, 'baresip'), sipPort: PHONE_SIP_PORT, ctrlPort: 4444, consPort: 5555, rtpPorts: RTP_PORTS,
      proxy: `${caller.peer.address}:${o.proxyPort}`, lifetimeMs: PHONE_LIFETIME_MS,
      audio: { source: o.sentences.aPadded, sampleRate: 8000, channels: 1, recordDir: join(o.dir, 'baresip', 'received') },
    }),
    LabLinphonec.start(callee.host, {
      user: 'lin', domain: o.domain, home: join(o.dir, 'linphonec'), sipPort: PHONE_SIP_PORT, rtpPorts: RTP_PORTS,
      proxy: `${callee.peer.address}:${o.proxyPort}`, autoAnswer: true, lifetimeMs: PHONE_LIFETIME_MS,
      playFile: o.sentences.b, recordFile: linRecording,
    }),
  ]);
  let setupMs: number;
  let callMs: number;
  let baresipRtp: LabBaresipRtpSummary;
  try {
    await Promise.all([bare.waitRegistered(STEP_MS), lin.waitRegistered(STEP_MS)]);
    const ev = bare.eventCount();
    const line = lin.lineCount();
    const out = bare.process.lineCount();
    const c0 = Date.now();
    const dial = await bare.command('dial', `sip:lin@${o.domain}`);
    if (!dial.ok) throw new Error(`baresip dial failed: ${dial.data}`);
    await bare.waitEvent('CALL_ESTABLISHED', { timeoutMs: STEP_MS, since: ev });
    setupMs = Date.now() - c0;
    await lin.waitForLine(/Call \d+ with .*connected\./, STEP_MS, line);
    // baresip hangs up when its source file ends
    const sourceMs = (readWav(o.sentences.aPadded).samples.length / 8000) * 1000;
    const c1 = Date.now();
    await bare.waitEvent('CALL_CLOSED', { timeoutMs: sourceMs + CALL_SLACK_MS, since: ev });
    callMs = Date.now() - c1;
    await lin.waitForLine(/Call \d+ with .*ended/, STEP_MS, line);
    baresipRtp = await bare.rtpSummary(STEP_MS, out);
  } finally {
    await Promise.allSettled([lin.quit(), bare.quit()]);
    await Promise.allSettled([...captures.values()].map((c) => c.stop()));
  }
  const after = await Promise.all([mediaOf(caller.peer), mediaOf(callee.peer)]);

  const phones = [caller.host.address, callee.host.address];
  const legs = new Map<string, MediaDissection>();
  for (const [site, c] of captures) legs.set(site, await dissectMedia(o.scope, c.file, phones, [PHONE_SIP_PORT]));
  const legOf = (h: LabHost): MediaDissection => legs.get(h.site!.name)!;
  const direction = (from: LabHost, to: LabHost): Direction => {
    const sent = largest(legOf(from).rtp.filter((s) => hostOf(s.src) === from.address));
    const toIt = legOf(to).rtp.filter((s) => hostOf(s.dst) === to.address);
    return { sent, received: toIt.find((s) => s.ssrc === sent?.ssrc) ?? largest(toIt) };
  };
  const rtcp = (h: LabHost, side: 'src' | 'dst'): number => legOf(h).rtcp.filter((f) => hostOf(f[side]) === h.address).reduce((n, f) => n + f.packets, 0);

  const bareRecording = bare.recordings().at(-1);
  if (bareRecording === undefined) throw new Error(`baresip wrote no decoded-audio dump in ${join(o.dir, 'baresip', 'received')}`);
  const match = (file: string, sent: string, own: string): RecordingMatch => {
    const rec = readWav(file);
    return { file, sent: compareAudio(readWav(sent), rec), unrelated: compareAudio(readWav(o.sentences.c), rec), own: compareAudio(readWav(own), rec) };
  };
  return {
    setupMs,
    callMs,
    audio: { atCallee: match(linRecording, o.sentences.a, o.sentences.b), atCaller: match(bareRecording, o.sentences.b, o.sentences.a) },
    baresipRtp,
    legs,
    rtp: { callerToCallee: direction(caller.host, callee.host), calleeToCaller: direction(callee.host, caller.host) },
    rtcpFrom: { caller: rtcp(caller.host, 'src'), callee: rtcp(callee.host, 'src') },
    rtcpTo: { caller: rtcp(caller.host, 'dst'), callee: rtcp(callee.host, 'dst') },
    sdpToCaller: legOf(caller.host).sdpToPhones.filter((s) => s.dst === caller.host.address),
    sdpToCallee: legOf(callee.host).sdpToPhones.filter((s) => s.dst === callee.host.address),
    media: { caller: counters(before[0], after[0]), callee: counters(before[1], after[1]) },
  };
}

function largest(streams: readonly RtpStreamStats[]): RtpStreamStats | undefined {
  return [...streams].sort((a, b) => b.packets - a.packets)[0];
}

function hostOf(addr: string): string {
  return addr.slice(0, addr.lastIndexOf(':'));
}

interface RawMedia {
  readonly mode?: unknown;
  readonly packets?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

async function mediaOf(peer: LabHost): Promise<RawMedia | undefined> {
  const m = (await labPeerStatus(peer))['media'];
  return typeof m === 'object' && m !== null ? (m as RawMedia) : undefined;
}

function flatten(m: RawMedia): Partial<Record<Counter, number>> {
  const out: Partial<Record<Counter, number>> = {};
  const keys: Counter[] = ['activeSessions', 'sessionsTotal', 'relayedSessionsTotal', 'directSessionsTotal', 'portsInUse', 'fromPhones', 'toPhones', 'fromPeers', 'toPeers', 'dropped'];
  for (const k of keys) {
    const v = k in m ? m[k] : m.packets?.[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

function counters(before: RawMedia | undefined, after: RawMedia | undefined): MediaCounters | undefined {
  if (before === undefined || after === undefined) return undefined;
  const b = flatten(before);
  const a = flatten(after);
  const delta: Partial<Record<Counter, number>> = {};
  for (const k of Object.keys(a) as Counter[]) delta[k] = (a[k] ?? 0) - (b[k] ?? 0);
  return { mode: String(after.mode), before: b, after: a, delta };
}

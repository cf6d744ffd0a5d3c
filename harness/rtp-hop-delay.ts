/**
 * Delay and loss of RTP through media relays, judged from a loopback capture: dumpcap records a window
 * of the traffic (BPF filter on the legs of interest, 64-byte snap length), tshark decodes it with its
 * heuristic RTP dissector (`-o rtp.heuristic_rtp:TRUE`: fields frame.time_epoch, udp.srcport,
 * udp.dstport, rtp.ssrc, rtp.seq), and each packet seen entering the path (phone → relay) is matched by
 * (SSRC, sequence number) with the same packet seen leaving it (relay → far phone). On loopback the
 * capture timestamps both sightings at transmission, so the difference is the time the relay path held
 * the packet.
 */
import type { ProcessScope } from './process-scope.js';

export type PortRange = readonly [lo: number, hi: number];

/** One direction of the path: where packets enter (phone → relay) and where they leave (relay → phone). */
export interface PathSpec {
  readonly name: string;
  readonly entry: { readonly src: PortRange; readonly dst: PortRange };
  readonly exit: { readonly src: PortRange; readonly dst: PortRange };
}

export interface RtpSighting {
  /** Capture time, µs since the epoch. */
  readonly tUs: number;
  readonly src: number;
  readonly dst: number;
  readonly ssrc: number;
  readonly seq: number;
}

export interface CaptureResult {
  readonly file: string;
  readonly captured: number;
  /** Packets the capture itself lost (kernel ring / dumpcap), from dumpcap's summary. */
  readonly dropped: number;
  readonly summary: string;
}

export interface PathStats {
  readonly name: string;
  /** Packets seen entering, away from the window's edges. */
  readonly entered: number;
  /** Of those, seen leaving. */
  readonly matched: number;
  readonly lost: number;
  readonly lossRatio: number;
  /** Seen leaving more than once. */
  readonly duplicated: number;
  /** Of the lost: seen leaving the relay's exit ports towards another destination, and the top ones. */
  readonly strayed: number;
  readonly strayDestinations: readonly { readonly dst: number; readonly packets: number }[];
  /** SSRCs with packets lost, and how many (at most 5, worst first). */
  readonly lossByStream: readonly { readonly ssrc: string; readonly lost: number; readonly entered: number }[];
  /** Entry → exit, µs (matched packets). */
  readonly delayUs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number; readonly mean: number };
  readonly streams: number;
}

/**
 * BPF filter for the paths (UDP only): their entry legs and everything leaving the relay ports their
 * exits come from, whatever the destination (so a packet sent elsewhere than the far phone shows up as
 * a stray, not as a loss), but for `excludePorts` (relay trunk ports: frames between peers).
 */
export function pathFilter(paths: readonly PathSpec[], excludePorts: readonly number[] = []): string {
  const range = (dir: 'src' | 'dst', r: PortRange): string => `udp ${dir} portrange ${r[0]}-${r[1]}`;
  const legs = paths.flatMap((p) => [`(${range('src', p.entry.src)} and ${range('dst', p.entry.dst)})`, `(${range('src', p.exit.src)})`]);
  const filter = [...new Set(legs)].join(' or ');
  return excludePorts.length === 0 ? filter : `(${filter}) and not (${excludePorts.map((x) => `udp port ${x}`).join(' or ')})`;
}

/**
 * Captures on lo for `durationS` (dumpcap, bounded in time and packets): `started` resolves once dumpcap
 * captures, `done` once it has exited by itself, with its counts.
 */
export function captureWindow(
  scope: ProcessScope,
  o: { readonly file: string; readonly filter: string; readonly durationS: number; readonly maxPackets: number },
): { readonly started: Promise<void>; readonly done: Promise<CaptureResult> } {
  const proc = scope.spawn({
    command: 'dumpcap',
    args: ['-i', 'lo', '-f', o.filter, '-s', '64', '-B', '64', '-w', o.file, '-a', `duration:${o.durationS}`, '-c', String(o.maxPackets)],
    name: 'dumpcap:rtp',
    lifetimeMs: (o.durationS + 30) * 1000,
    maxLines: 200,
  });
  const started = proc.waitForLine(/Capturing on/, { timeoutMs: 15_000 }).then(() => undefined);
  const done = proc.exited.then((exit) => {
    const text = proc.lines().join('\n');
    if (exit.code !== 0) throw new Error(`dumpcap exited ${String(exit.code)}:\n${proc.tail(20)}`);
    const captured = Number(/Packets captured: (\d+)/.exec(text)?.[1] ?? NaN);
    // "Packets received/dropped on interface 'Loopback: lo': 746/0 (pcap:0/dumpcap:0/flushed:0/ps_ifdrop:0)"
    const m = /received\/dropped on interface[^:]*:[^:]*: (\d+)\/(\d+) \(pcap:(\d+)\/dumpcap:(\d+)\/flushed:(\d+)/.exec(text);
    const dropped = m === null ? NaN : Number(m[2]) + Number(m[3]) + Number(m[4]) + Number(m[5]);
    return { file: o.file, captured, dropped, summary: text.split('\n').filter((l) => /Packets/.test(l)).join('; ') };
  });
  return { started, done };
}

/**
 * The RTP packets of a capture file, decoded by tshark (bounded in time). `rtpPorts`: UDP port ranges
 * decoded as RTP whatever else Wireshark would make of them (heuristics lose to registered ports: UDP
 * 17220 is IEEE 1722 AVTP, so a relay port 17220 would hide a stream).
 */
export async function rtpSightings(scope: ProcessScope, file: string, rtpPorts: readonly PortRange[] = [], timeoutMs = 120_000): Promise<RtpSighting[]> {
  const decodeAs = rtpPorts.flatMap((r) => ['-d', `udp.port==${r[0]}-${r[1]},rtp`]);
  const proc = scope.spawn({
    command: 'tshark',
    args: ['-n', '-r', file, '-o', 'rtp.heuristic_rtp:TRUE', ...decodeAs, '-Y', 'rtp', '-T', 'fields', '-E', 'separator=,',
      '-e', 'frame.time_epoch', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'rtp.ssrc', '-e', 'rtp.seq'],
    name: 'tshark:rtp',
    lifetimeMs: timeoutMs,
    maxLines: 5_000_000,
    maxLineLength: 200,
  });
  const exit = await proc.exited;
  if (exit.code !== 0) throw new Error(`tshark exited ${String(exit.code)}:\n${proc.tail(20)}`);
  const out: RtpSighting[] = [];
  for (const line of proc.lines()) {
    const f = line.split(',');
    if (f.length < 5) continue;
    const t = parseEpochUs(f[0] ?? '');
    const ssrc = Number(f[3]);
    if (t === undefined || !Number.isFinite(ssrc)) continue;
    out.push({ tUs: t, src: Number(f[1]), dst: Number(f[2]), ssrc, seq: Number(f[4]) });
  }
  return out;
}

/**
 * Matches entry and exit sightings of each path. Packets that entered within `leadUs` of the first or
 * `tailUs` of the last sighting of the capture are left out (their exit may fall outside the window):
 * a packet counts as lost only when it has not left the path `tailUs` after entering, so a slow
 * relay shows in the delays, and only one that keeps a packet longer than `tailUs` (or never sends
 * it) shows as loss.
 */
export function pathStats(sightings: readonly RtpSighting[], paths: readonly PathSpec[], leadUs = 200_000, tailUs = leadUs): PathStats[] {
  if (sightings.length === 0) return paths.map((p) => emptyStats(p.name));
  let first = Infinity;
  let last = -Infinity;
  for (const s of sightings) {
    if (s.tUs < first) first = s.tUs;
    if (s.tUs > last) last = s.tUs;
  }
  const inRange = (v: number, r: PortRange): boolean => v >= r[0] && v <= r[1];
  return paths.map((p) => {
    const exits = new Map<string, number[]>();
    const strays = new Map<string, number[]>();
    const entries: RtpSighting[] = [];
    for (const s of sightings) {
      if (inRange(s.src, p.exit.src)) {
        const k = `${s.ssrc}:${s.seq}`;
        const map = inRange(s.dst, p.exit.dst) ? exits : strays;
        const list = map.get(k);
        if (list === undefined) map.set(k, [inRange(s.dst, p.exit.dst) ? s.tUs : s.dst]);
        else list.push(inRange(s.dst, p.exit.dst) ? s.tUs : s.dst);
      } else if (inRange(s.src, p.entry.src) && inRange(s.dst, p.entry.dst) && s.tUs >= first + leadUs && s.tUs <= last - tailUs) {
        entries.push(s);
      }
    }
    const delays: number[] = [];
    let lost = 0;
    let duplicated = 0;
    let strayed = 0;
    const strayDst = new Map<number, number>();
    const perStream = new Map<number, { lost: number; entered: number }>();
    for (const e of entries) {
      const st = perStream.get(e.ssrc) ?? { lost: 0, entered: 0 };
      st.entered++;
      perStream.set(e.ssrc, st);
      const key = `${e.ssrc}:${e.seq}`;
      const seen = exits.get(key);
      // the first exit sighting at or after the entry (a 16-bit sequence number does not wrap in a window)
      const after = seen?.filter((t) => t >= e.tUs) ?? [];
      if (after.length === 0) {
        lost++;
        st.lost++;
        const elsewhere = strays.get(key);
        if (elsewhere !== undefined) {
          strayed++;
          for (const d of elsewhere) strayDst.set(d, (strayDst.get(d) ?? 0) + 1);
        }
        continue;
      }
      if (after.length > 1) duplicated++;
      delays.push(Math.min(...after) - e.tUs);
    }
    delays.sort((a, b) => a - b);
    return {
      name: p.name,
      entered: entries.length,
      matched: delays.length,
      lost,
      lossRatio: entries.length === 0 ? 0 : lost / entries.length,
      duplicated,
      strayed,
      strayDestinations: [...strayDst].sort((x, y) => y[1] - x[1]).slice(0, 5).map(([dst, packets]) => ({ dst, packets })),
      lossByStream: [...perStream]
        .filter(([, v]) => v.lost > 0)
        .sort((x, y) => y[1].lost - x[1].lost)
        .slice(0, 5)
        .map(([ssrc, v]) => ({ ssrc: `0x${ssrc.toString(16)}`, lost: v.lost, entered: v.entered })),
      delayUs: {
        p50: quantile(delays, 0.5),
        p90: quantile(delays, 0.9),
        p99: quantile(delays, 0.99),
        p999: quantile(delays, 0.999),
        max: delays[delays.length - 1] ?? NaN,
        mean: delays.length === 0 ? NaN : delays.reduce((a, b) => a + b, 0) / delays.length,
      },
      streams: perStream.size,
    };
  });
}

/** Nearest-rank quantile of sorted values (NaN when empty). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

/** "1796595247.399357123" → µs since the epoch (exact to the µs). */
function parseEpochUs(s: string): number | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(s.trim());
  if (m === null) return undefined;
  const frac = `${m[2] ?? ''}000000`.slice(0, 6);
  return Number(m[1]) * 1_000_000 + Number(frac);
}

function emptyStats(name: string): PathStats {
  return { name, entered: 0, matched: 0, lost: 0, lossRatio: 0, duplicated: 0, strayed: 0, strayDestinations: [], lossByStream: [], delayUs: { p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN }, streams: 0 };
}

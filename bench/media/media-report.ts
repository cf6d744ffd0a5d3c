/**
 * Writing a media benchmark run down: the JSON (bench/results/media-<date>.json) and the "Media relay"
 * section of BENCHMARKS.md between its markers.
 */
import { resultFileName } from '../bench-files.js';
import type { MachineInfo } from '../sip/system-info.js';
import { fmtPps, MAX_LOSS, RELAY_PORTS } from './media-bench.js';
import type { MediaBenchResult, SutResult } from './media-bench.js';

export const MEDIA_SECTION_START = '<!-- media-bench:start (written by `npm run bench -- media`; edits here are overwritten) -->';
export const MEDIA_SECTION_END = '<!-- media-bench:end -->';

export interface MediaReport {
  readonly benchmark: 'media';
  readonly command: string;
  readonly machine: MachineInfo;
  readonly rtpengineVersion: string;
  readonly result: MediaBenchResult;
}

export function mediaResultFileName(startedAt: string): string {
  return resultFileName('media', startedAt);
}

const NAME: Readonly<Record<SutResult['sut'], string>> = {
  p2psip: 'p2psip peer (`--media relay`, node)',
  rtpengine: 'rtpengine (userspace, `--table=-1 --num-threads=1`)',
  direct: 'no relay (generator ceiling)',
};

const LIMIT: Readonly<Record<string, string>> = {
  loss: 'loss ≥ 0.1 %',
  generator: 'generator could not keep the pace',
  'search-cap': 'nothing failed up to the search bound',
  error: 'error',
};

export function renderMediaSection(report: MediaReport, jsonPath: string): string {
  const { machine: m, result: r } = report;
  const L: string[] = [];
  L.push('## Media relay: RTP packets/s one relay forwards on one core, p2psip vs rtpengine');
  L.push('');
  L.push(`Run ${r.startedAt} with \`${report.command}\` (${Math.round(r.wallMs / 1000)} s); raw data: \`${jsonPath}\`.`);
  L.push('');
  L.push(
    `Machine: ${m.nproc} cores (\`nproc\`), ${m.cpuModel}, Linux ${m.kernel}, node ${m.node}, rtpengine ${report.rtpengineVersion}; ` +
      `net.core.rmem_max ${m.rmemMax ?? '?'} B. Load average (1 min) ${r.load1Before.toFixed(2)} before, ${r.load1After.toFixed(2)} after.`,
  );
  L.push('');
  L.push(
    `Method: the relay runs pinned to CPU ${r.relayCpu} (\`taskset\`; for p2psip every thread of the node process), the generator ` +
      `(bench/media/rtp-blast.c, ${r.generatorCpus.length} process(es) on CPU ${r.generatorCpus.join(',')}) plays both phones of N calls: ` +
      `each side sends ${12 + r.traffic.payloadBytes}-byte RTP packets (G.711, 20 ms) at ${r.traffic.ppsPerEndpoint} pps to the relay port its SDP ` +
      `gave it, so the relay takes ${2 * r.traffic.ppsPerEndpoint}·N packets/s in and sends as many out; sends are paced evenly over all streams. ` +
      `p2psip: one peer, both phones registered at it (harness/rtp-call-pair.ts), each call INVITE/200/ACK through its SIP front, so the peer ` +
      `bridges the two phone-facing ports locally. rtpengine: ng offer/answer per call. Sockets are connected (symmetric RTP: a relay must ` +
      `answer from the port it is sent to). A trial: ${r.traffic.warmupMs / 1000} s warm-up (latching, not counted), ${r.durationS} s measured, ` +
      `a 1 s drain, then BYE/delete of every call. **Loss** = measured packets that did not reach the far phone within ` +
      `${r.traffic.lateMs ?? 100} ms (never, or later: a phone's jitter buffer has moved on; an overloaded relay queues ` +
      `packets in its sockets' receive buffers for hundreds of ms long before the kernel drops any, so counting only packets that never ` +
      `arrive would let a relay "pass" with a second of delay). A trial passes with loss < ${MAX_LOSS * 100} %, nothing misrouted, and ` +
      `the generator at ≥ 99 % of the offered pace with no drop at its own sockets (else it is "generator limited" and says nothing about ` +
      `the relay). N doubles from 100 until a trial fails, then bisects 3 times; further repetitions step ×2^(1/8) up or down from the first ` +
      `result. Numbers are the median of the repetitions' highest passing N, with min–max. Relay CPU = the relay process's user+system ` +
      `time, core = its CPU's busy share in /proc/stat (softirq included), both sampled inside the measured window.`,
  );
  L.push('');
  L.push('| relay | median max calls | min–max calls | packets/s in (median) | reps | next step failed by | relay CPU / core at max | transit p50 / p99 at max (µs) | relay RSS per call |');
  L.push('|---|---:|---:|---:|---:|---|---:|---:|---:|');
  for (const s of r.suts) {
    if (s.error !== undefined && s.repetitions.length === 0) {
      L.push(`| ${NAME[s.sut]} | error: ${s.error.split('\n')[0] ?? ''} | | | | | | | |`);
      continue;
    }
    const limits = [...new Set(s.repetitions.map((x) => LIMIT[x.limit] ?? x.limit))].join('; ');
    const a = s.atMax;
    const pct = (v: number | undefined): string => (v === undefined ? '–' : `${Math.round(v * 100)} %`);
    const ge = s.repetitions.length > 0 && s.repetitions.every((x) => x.limit === 'search-cap') ? '≥ ' : '';
    L.push(
      `| ${NAME[s.sut]} | ${ge}${fmtPps(s.maxCalls.median)} | ${fmtPps(s.maxCalls.min)}–${fmtPps(s.maxCalls.max)} | ${ge}${fmtPps(s.maxPps.median)} | ` +
        `${s.repetitions.length} | ${limits} | ${s.sut === 'direct' ? '–' : `${pct(a?.relayCpu)} / ${pct(a?.relayCoreBusy)}`} | ` +
        `${a === undefined ? '–' : `${fmtPps(a.latencyUs.p50)} / ${fmtPps(a.latencyUs.p99)}`} | ${s.rssPerCallBytes === undefined ? '–' : `${(s.rssPerCallBytes / 1024).toFixed(1)} KiB`} |`,
    );
  }
  L.push('');
  const p = r.suts.find((s) => s.sut === 'p2psip');
  const e = r.suts.find((s) => s.sut === 'rtpengine');
  const d = r.suts.find((s) => s.sut === 'direct');
  if (p !== undefined && e !== undefined && e.maxPps.median > 0) {
    const ratio = p.maxPps.median / e.maxPps.median;
    // rtpengine passing at the search bound: its number is a floor, the ratio a ceiling
    const capped = e.repetitions.length > 0 && e.repetitions.every((x) => x.limit === 'search-cap');
    L.push(
      `Ratio p2psip / rtpengine (median packets/s): **${capped ? '≤ ' : ''}${ratio.toFixed(2)}×** (${fmtPps(p.maxPps.median)} / ` +
        `${capped ? '≥ ' : ''}${fmtPps(e.maxPps.median)}; target ≥ 0.5×${capped ? '; rtpengine passed at the search bound, so its figure is a floor' : ''}). ` +
        `p2psip concurrent G.711 calls on one core: **${fmtPps(p.maxCalls.median)}** (target ≥ 400).`,
    );
    L.push('');
  }
  if (d !== undefined) {
    const top = Math.max(...r.suts.filter((s) => s.sut !== 'direct').map((s) => s.maxPps.max), 0);
    const ceiling = d.repetitions[0]?.maxPps ?? 0;
    L.push(
      `Generator ceiling (no relay, same endpoints and pacing): ${fmtPps(ceiling)} packets/s passed` +
        `${d.repetitions[0]?.limit === 'search-cap' ? ' (the search bound; it may do more)' : ''}` +
        `${ceiling > top ? `, above the best relay trial (${fmtPps(top)}).` : top > 0 ? `, NOT above the best relay trial (${fmtPps(top)}): the generator may be the limit.` : '.'}`,
    );
    L.push('');
    // With a relay in the loop the generator's core also pays for the relay's wake-ups and for delivering
    // what it sends into the relay's sockets: it may fall behind before the relay does.
    for (const s of r.suts.filter((x) => x.sut !== 'direct')) {
      const limited = s.repetitions.flatMap((x) => x.trials).filter((t) => t.generatorLimited);
      if (limited.length === 0) continue;
      const lowest = Math.min(...limited.map((t) => t.offeredPps));
      const best = Math.max(...limited.map((t) => t.achievedPps));
      L.push(
        `With ${s.sut} in the loop the generator fell behind the offered pace from ${fmtPps(lowest)} packets/s offered (at most ` +
          `${fmtPps(best)} sent): its core also pays for waking the relay and for delivering into the relay's sockets. ` +
          `${lowest <= 1.2 * s.maxPps.median ? `${s.sut}'s figure is therefore at the edge of what one generator core drives; those trials lost packets too, but it may do somewhat more with more generator cores.` : `That is well above ${s.sut}'s figure, which the relay set.`}`,
      );
      L.push('');
    }
  }
  L.push('Trials (every repetition, in order: calls, ✓ pass / ✗ fail, loss as defined above, packets that never arrived, kernel drops at the relay\'s sockets, transit p99):');
  L.push('');
  for (const s of r.suts) {
    for (const [i, rep] of s.repetitions.entries()) {
      const t = rep.trials
        .map(
          (x) =>
            `${x.calls}${x.pass ? '✓' : '✗'} (${(x.lossRatio * 100).toFixed(3)} %` +
            `${x.rawLossRatio > 0 ? `, never arrived ${(x.rawLossRatio * 100).toFixed(3)} %` : ''}` +
            `${x.relaySocketDrops > 0 ? `, ${x.relaySocketDrops} socket drops` : ''}${x.generatorLimited ? ', gen-limited' : ''}` +
            `${x.latencyUs.p99 >= 0 ? `, p99 ${fmtPps(x.latencyUs.p99 / 1000)} ms` : ''})`,
        )
        .join(', ');
      L.push(`- ${s.sut} rep ${i + 1}: ${t}`);
    }
  }
  L.push('');
  const leftovers = r.suts.flatMap((s) => s.repetitions.flatMap((x) => x.trials)).filter((t) => t.portsLeft > 0);
  L.push(
    `Port release: after every trial's hang-up the relay's sockets in its port range (p2psip ${RELAY_PORTS.p2psip.join('–')}, rtpengine ` +
      `${RELAY_PORTS.rtpengine.join('–')}) were counted with \`ss -uanp\` (p2psip: beyond its trunk port and the pairs it keeps ready, ` +
      `media.ports.ready)` +
      `${r.suts.some((s) => s.sut === 'p2psip') ? ', and p2psip\'s media.portsInUse had to be 0' : ''}: ` +
      `${leftovers.length === 0 ? 'no port left bound after any trial.' : `${leftovers.length} trial(s) left ports bound: ${leftovers.map((t) => `${t.sut}@${t.calls}: ${t.portsLeft}`).join(', ')}.`}`,
  );
  L.push('');
  L.push(
    'Noise: relay and generator share the machine\'s cores with nothing else of the benchmark during a trial, but the kernel\'s loopback ' +
      'work for a packet runs on the sending CPU, so part of each relay\'s receive cost lands on the generator\'s core and part of the ' +
      'generator\'s on the relay\'s. `taskset` keeps the relay on its CPU, not other programs off it: a load average well above 0 before ' +
      'or after the run means other work competed for the relay\'s core, and both relays lose capacity to it. The min–max column shows how ' +
      'far repetitions disagreed. Relay RSS per call = (RSS with the calls, after set-up or traffic, whichever is larger − RSS before) / N at ' +
      'the median repetition\'s highest passing N; rtpengine allocates its per-call memory in larger pools, so a small figure there means ' +
      'little.',
  );
  return L.join('\n');
}

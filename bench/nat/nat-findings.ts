/**
 * "What is slow, and why" for the NAT section of BENCHMARKS.md: statements computed from a run's
 * numbers (so they change with the numbers), plus where each cost sits in the code.
 */
import type { NatBenchResult } from './nat-bench.js';
import type { CallRow, NatSummary } from './nat-summary.js';

/** NOMINATION_DELAY_MS of src/reload/link/ice-links.ts (the controlling agent's wait after its first valid pair). */
export const NOMINATION_WAIT_MS = 250;

const f0 = (x: number): string => x.toFixed(0);

function spreadMedian(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Bullet points (markdown, without the leading dash). */
export function natFindings(r: NatBenchResult, s: NatSummary): string[] {
  const rtt = s.rttMs;
  const out: string[] = [];
  const measured = s.calls.filter((c) => c.first.n > 0);
  const relayed = measured.filter((c) => /relay/.test(c.channelPairs));
  const pr = s.calls.find((c) => c.caller === 'pr1' && c.callee === 'pr2');
  const pub = s.calls.find((c) => c.caller === 'pub2' && c.callee === 'boot');
  if (s.target !== undefined && pr !== undefined && pub !== undefined) {
    const extraSetup = pr.setup.median - pub.setup.median;
    out.push(
      `**The 2-RTT target is ${s.target.firstRtts <= 2 ? 'met' : 'missed'} for a first call (${s.target.firstRtts.toFixed(1)} RTT more for port-restricted ↔ port-restricted than public ↔ public)` +
        `${s.target.laterRtts <= 2 ? ` and met on an open channel (${s.target.laterRtts.toFixed(1)} RTT)` : ` and missed on an open channel too (${s.target.laterRtts.toFixed(1)} RTT)`}.** ` +
        `Of the first call's difference, ${f0(extraSetup)} ms (${(extraSetup / rtt).toFixed(1)} RTT) is ICE+DTLS of the SIP channel: ` +
        `${/relay/.test(pr.channelPairs) ? `the pr ↔ pr channel went through the TURN relay at \`boot\` (${pr.channelPairs}), so every ICE and DTLS round trip costs 2 RTT instead of 1, and the relay's permission comes first. Two port-restricted NATs can be punched directly; the lab's router gives the host a new mapping when the far side's check reaches it before the host's own first packet (conntrack port clash, docs/architecture.md "Link types in the NAT lab"), which turns it into an endpoint-dependent one — a real port-restricted router may keep the mapping, and then this pair would cost what public ↔ public costs.` : `the channel was direct (${pr.channelPairs}).`}`,
    );
  }
  const direct = measured.filter((c) => !/relay/.test(c.channelPairs) && c.pathRtts > 0);
  const natDirect = direct.filter((c) => c !== pub);
  if (pub !== undefined && pub.setup.n > 0) {
    const natSetups = natDirect.map((c) => c.setup.median);
    out.push(
      `**ICE+DTLS between public peers: ${f0(pub.setup.median)} ms = 4 RTT (${4 * rtt} ms) + ${f0(pub.setup.median - 4 * rtt)} ms of processing** ` +
        '(one candidate pair, nominated as soon as it is valid; DTLS 1.2 with werift\'s HelloVerifyRequest round, ECDSA certificates checked against the overlay\'s trust).' +
        (natSetups.length === 0
          ? ''
          : ` On direct paths across NATs it takes ${f0(Math.min(...natSetups))}–${f0(Math.max(...natSetups))} ms, ≈ ${f0(spreadMedian(natSetups) - pub.setup.median)} ms more: the controlling agent ` +
            'waits for the better pairs still unanswered — the peers\' private host candidates, which cannot answer across NATs — before it nominates ' +
            `(src/nat/ice/ice-agent.ts maybeNominate: 2 × the valid pair's RTT after their first check, at most NOMINATION_DELAY_MS = ${NOMINATION_WAIT_MS} ms after the first valid pair).`),
    );
  }
  if (relayed.length > 0) {
    out.push(
      `**Relayed channels** (${relayed.map((c) => `${c.pair}: ${c.channelPairs}`).join('; ')}): ICE+DTLS ${relayed.map((c) => `${f0(c.setup.median)} ms`).join(', ')} ` +
        `against 8 RTT = ${8 * rtt} ms for a relayed path (2 RTT per round trip), + CreatePermission at the relay before the first relayed check gets through, + the nomination wait.`,
    );
  }
  const aa = measured.filter((c) => c.appAttachEstimate.median > 0 && c.pathRtts > 0);
  if (aa.length > 0) {
    out.push(
      `**AppAttach** (first call − a call on the open channel − ICE+DTLS): ${aa.map((c) => `${c.pair} ${f0(c.appAttachEstimate.median)} ms`).join(', ')}, against 1 path RTT (${rtt} ms direct): ` +
        'the request is routed over the overlay links (a direct link when the two peers have one, else through a finger), and the answerer starts its ICE agent before answering.',
    );
  }
  const later = measured.filter((c) => c.later.n > 0);
  if (later.length > 0) {
    const ex = later.map((c) => c.later.median - c.laterBound.median);
    out.push(
      `**Calls on an open channel** are ${f0(Math.min(...ex))}–${f0(Math.max(...ex))} ms over their bound (median per pair). The bound itself holds a Fetch: every call fetches the callee's AoR first ` +
        `(usages/sip/registration-cache.ts is off by default, \`maxAgeMs\` 0), so a call on an open channel costs ${later.filter((c) => c.pathRtts > 0).map((c) => f0(c.later.median)).join('/')} ms where INVITE→180 alone would be ${rtt} ms on a direct path.` +
        (Math.max(...ex) > rtt / 2 ? ' Where the excess reaches an RTT, the Fetch took a second overlay hop (see the hops in the Fetch table).' : ''),
    );
  }
  const fx = s.fetches.filter((f) => f.n > 0);
  if (fx.length > 0) {
    const ex = fx.map((f) => f.excessMedian);
    const hops = fx.filter((f) => f.hops.n > 0).map((f) => f.hops.median);
    const pingMs = spreadMedian(fx.filter((f) => f.hops.n > 0).map((f) => f.hops.pingMedianMs));
    const fetchMs = spreadMedian(fx.map((f) => f.median));
    out.push(
      `**Fetch**: medians ${f0(Math.min(...fx.map((f) => f.median)))}–${f0(Math.max(...fx.map((f) => f.median)))} ms; over each Fetch's own bound by ${f0(Math.min(...ex))}–${f0(Math.max(...ex))} ms (median per peer), ` +
        `i.e. ${(Math.min(...ex) / rtt).toFixed(1)}–${(Math.max(...ex) / rtt).toFixed(1)} RTT.` +
        (hops.length === 0
          ? ''
          : ` A Ping routed to the peer responsible for a random Resource-ID reports ${Math.min(...hops)}–${Math.max(...hops)} hops (median per peer; /api/overlay/lookup): ` +
            (Math.max(...hops) >= 2
              ? 'with 8 peers, a greedy Chord route goes through a finger before the responsible peer more often than not, each hop a segment crossing.'
              : `routes are direct, and the Ping takes ${f0(pingMs)} ms where the Fetch takes ${f0(fetchMs)} ms` +
                (fetchMs - pingMs > rtt * 0.7
                  ? ': a Fetch through /api/storage/fetch costs one round trip more than its routing, from every peer. Not explained here (the Fetch of an AoR on a call\'s path does not show it: a call on an open channel costs Fetch 1 + INVITE 1); worth a look with a capture at the responsible peer.'
                  : '.'))),
    );
  }
  const j = s.joins.filter((x) => x.n > 0);
  if (j.length > 0) {
    out.push(
      `**Join**: ${f0(Math.min(...j.map((x) => x.total.median)))}–${f0(Math.max(...j.map((x) => x.total.median)))} ms median per peer (bounds ${f0(Math.min(...j.map((x) => x.boundMs)))}–${f0(Math.max(...j.map((x) => x.boundMs)))} ms). ` +
        `Start → \`joining\` is ${f0(Math.min(...j.map((x) => x.beforeJoining.median)))}–${f0(Math.max(...j.map((x) => x.beforeJoining.median)))} ms, mostly CPU before the first packet (node start, modules, identity); ` +
        'in `joining` → `joined` the steps run in series: TURN for the overlay port, then again (a second AppAttach for credentials) for the SIP port, then the Attach, two ICE rounds each with the nomination wait, the Join.',
    );
  }
  const last = r.bootTurn.at(-1);
  const live = (r.relays.length / Math.max(1, r.options.rounds)) * 2;
  if (last !== undefined && last.allocations > live) {
    const quota = (last.errors['486'] ?? 0) > 0;
    out.push(
      `**TURN allocations outlive a clean stop:** after the last round \`boot\` held ${last.allocations} allocations for ${live} live ones (error answers so far: ${JSON.stringify(last.errors)}). ` +
        'A stopped peer does not reliably delete its allocations, so they stay for their lifetime (600 s). ' +
        (quota
          ? 'Two peers behind one router (the home LAN) reached the per-client-IP limit of 10: 486 Allocation Quota Reached, the restarted peer got no relay (see the relay line above), and its calls that need one fail.'
          : 'Two peers behind one router (the home LAN) restarted a few more times would reach the per-client-IP limit of 10 (486 Allocation Quota Reached: no relay; in an earlier run of this benchmark lan1 and lan2 had no relay in the last two rounds, which fits).'),
    );
  }
  if (r.relays.some((x) => x.overlay !== 'allocated' || x.sip !== 'allocated') || r.options.samePort) {
    out.push(
      '**A peer restarted behind a NAT can lose its relays:** its new Allocate can come from the 5-tuple of an allocation left by a previous incarnation — on the same ' +
        'overlay port the NAT keeps the old mapping (conntrack); two peers of one LAN on one port get mappings the router hands out again — and the bootstrap peer answers ' +
        '437 Allocation Mismatch (or 486 once 10 allocations of one address are held): no overlay relay, and (overlay-service.ts allocates the SIP port\'s relay only ' +
        'after the overlay port\'s) no SIP relay either. Its calls that need a relay then fail (seen with `--same-port`: 480 "no ICE/DTLS channel", ICE: all pairs ' +
        'failed after ≈2.3 s = 23 × the 100 ms RTO floor).',
    );
  }
  const staleLeft = r.stale.filter((x) => x.stale > 0);
  if (staleLeft.length > 0) {
    out.push(
      `**Registrations outlive a clean stop** (${staleLeft.length} of ${r.stale.length} looked up after a restart): the stop's 2.5 s for withdrawing them ` +
        'is not always enough at 100 ms RTT on a busy machine. Every later call to such an AoR fails with 408 after 5 s even though its phone is registered at a live peer: ' +
        'OverlayLocationService.remoteUnbounded waits for the AppAttach to *every* registered Node-ID (Promise.all) before forwarding, and the one to the dead peer never answers.',
    );
  }
  return out;
}

/** Suggestions for src/ (not changed by the benchmark), ordered by what they would save on a first call. */
export function natSuggestions(calls: readonly CallRow[], rttMs: number): string[] {
  void calls;
  return [
    'Do not wait for remote host candidates in a private range none of our own addresses is in (they cannot answer across NATs): nominate on the first valid pair then, −≈1 RTT on every first call and overlay link across NATs.',
    `Skip DTLS's HelloVerifyRequest cookie round on an ICE-validated path (the ICE checks already proved the return path; RFC 6347 §4.2.1 makes the cookie exchange a SHOULD, not a MUST): −1 RTT (${rttMs} ms direct).`,
    'Let the controlled side start its DTLS client on its first valid pair instead of waiting for the nominating check: −0.5 RTT.',
    'Keep the AoR → Node-ID answer while a SIP channel to that peer is open (registration cache scoped to open channels): calls on an open channel would cost 1 path RTT instead of Fetch + 1.',
    'Forward to the registered peers as each is located (or give each locate its own short bound) instead of waiting for all of them: one dead registration must not turn a call into a 408.',
    'On a 437 Allocation Mismatch, allocate from another local port (RFC 8656: "try again using a different client transport address"), allocate the SIP port\'s relay even when the overlay port\'s failed, and delete allocations before the stop\'s deadline.',
  ];
}

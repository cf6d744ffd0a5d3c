/**
 * NAT behaviour discovery against other peers (RFC 5780 §4.3 mapping, §4.4 filtering), sans-I/O:
 * the Binding probe and the "unsolicited reachability" test are injected, time is the injected
 * clock. Its verdict says which role the peer can take: 'public' (no NAT, a public address, no
 * filtering seen: it may offer TURN, RFC 6940 §9), 'nat' (needs server-reflexive / relay
 * candidates) or 'no-udp' (nobody answered over UDP: join as a client over TLS).
 *
 * Peers are STUN servers with one IP address and, sometimes, an alternate port (binding-server.ts:
 * OTHER-ADDRESS, CHANGE-REQUEST change-port answered from it, change-IP refused). So RFC 5780's
 * "alternate IP" is another peer, and its filtering test II (change IP and port) becomes a helper
 * peer sending to our mapped address from an address we never sent to (`unsolicited`).
 *
 * Steps, in this order (the order matters: each datagram we send opens our NAT's filter for its
 * destination, so the filtering tests come before we contact more addresses):
 *  1. Binding to up to `firstProbes` servers at once, distinct IPs first. No answer: 'no-udp'.
 *     A mapped address that is one of ours: no NAT (RFC 5780 §4.3, test I).
 *  2. `unsolicited(mapped, contacted)`: a helper at an IP we did not contact reaching us proves
 *     endpoint-independent filtering; not reaching us rules it out (RFC 5780 §4.4 test II).
 *  3. CHANGE-REQUEST change-port to a server that has an alternate port we did not contact: an
 *     answer rules out address-and-port-dependent filtering; none leaves only it (§4.4 test III).
 *  4. When NATed and phase 1 saw a single IP: a Binding to a server at another IP (§4.3 test II):
 *     the same mapping from two IPs is endpoint-independent mapping.
 *  5. When the mappings differ (or only one IP could be asked): a Binding to the first server's IP
 *     at another port (its alternate, or a listed server): the same mapping as the first is
 *     address-dependent, another is address-and-port-dependent (§4.3 test III).
 * A received datagram is proof; a missing one may be loss, so positive evidence wins a conflict.
 * Work: at most firstProbes + 3 probes and one unsolicited test, each raced against its timeout.
 */
import type { Clock } from '../lib/clock.js';
import { ipFamily, sameIp } from '../lib/ip.js';
import { addressScope } from './address-scope.js';
import { addressKey } from './datagram-socket.js';
import type { UdpAddress } from './datagram-socket.js';

/** RFC 4787 §4.1 mapping / §5 filtering behaviours (RFC 5780 §4.3 / §4.4 verdicts). */
export type NatBehaviourClass = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';
export type NatRole = 'public' | 'nat' | 'no-udp';
export type NatConfidence = 'high' | 'medium' | 'low';

/** A Binding success response, as the probe reads it (XOR-MAPPED-ADDRESS, OTHER-ADDRESS, RESPONSE-ORIGIN). */
export interface NatProbeAnswer {
  mapped: UdpAddress;
  otherAddress?: UdpAddress;
  responseOrigin?: UdpAddress;
  rttMs?: number;
}

/**
 * One Binding request from our overlay UDP port to `server` (with CHANGE-REQUEST change-port when
 * asked), resolving with the success response or undefined (timeout, error response). A change-port
 * answer comes from the server's alternate port: the probe must accept it from there.
 */
export type NatProbe = (server: UdpAddress, opts: { changePort: boolean; timeoutMs: number }) => Promise<NatProbeAnswer | undefined>;

/** What a helper peer reported: whether its datagram to our mapped address got through, and from where it sent. */
export interface UnsolicitedOutcome {
  reached: boolean;
  helper: UdpAddress;
}

/**
 * Asks another peer — preferably at an IP not in `contacted`, and one we exchanged no UDP with — to
 * send a STUN Binding request from its UDP port to `target` (our mapped address), and reports
 * whether it got through (the helper got our answer, or we saw the request). Undefined: no helper.
 */
export type UnsolicitedTest = (target: UdpAddress, contacted: readonly UdpAddress[], timeoutMs: number) => Promise<UnsolicitedOutcome | undefined>;

export interface NatBehaviourDeps {
  clock: Clock;
  probe: NatProbe;
  /** Filtering test II over the overlay; without it filtering is narrowed by change-port alone. */
  unsolicited?: UnsolicitedTest;
}

export interface NatBehaviourOptions {
  /** Given to each probe and enforced (plus `graceMs`), ms (default 2,000). */
  probeTimeoutMs: number;
  /** Servers asked at once in step 1 (default 3). */
  firstProbes: number;
  /** Given to the unsolicited test and enforced (plus `graceMs`), ms (default 3,000). */
  unsolicitedTimeoutMs: number;
  /** Slack before an injected call that outlives its timeout is given up, ms (default 500). */
  graceMs: number;
}

export const DEFAULT_NAT_BEHAVIOUR_OPTIONS: Readonly<NatBehaviourOptions> = Object.freeze({
  probeTimeoutMs: 2000,
  firstProbes: 3,
  unsolicitedTimeoutMs: 3000,
  graceMs: 500,
});

export interface NatEvidence {
  test: 'binding' | 'change-port' | 'other-ip' | 'alternate-port' | 'unsolicited';
  /** The server asked (for 'unsolicited': the helper that sent). */
  server: UdpAddress;
  answered: boolean;
  mapped?: UdpAddress;
  otherAddress?: UdpAddress;
  responseOrigin?: UdpAddress;
  note?: string;
}

export interface NatBehaviourReport {
  role: NatRole;
  confidence: NatConfidence;
  /** Why, in a sentence (for logs and /api/status). */
  reason: string;
  /** Some mapped address is not one of ours; undefined without an answer or without local addresses. */
  natted: boolean | undefined;
  /** Every mapped address is public (address-scope.ts); undefined without an answer. */
  publicAddress: boolean | undefined;
  /** Our address as the first answering server saw it: with role 'public', the address to offer TURN on. */
  mappedAddress: UdpAddress | undefined;
  mapping: NatBehaviourClass | 'unknown';
  /** The mapping behaviours the evidence leaves (one: `mapping` is it). */
  mappingPossible: NatBehaviourClass[];
  filtering: NatBehaviourClass | 'unknown';
  filteringPossible: NatBehaviourClass[];
  evidence: NatEvidence[];
  /** Binding probes sent (the unsolicited test not counted). */
  probes: number;
}

const EIM: NatBehaviourClass = 'endpoint-independent';
const ADM: NatBehaviourClass = 'address-dependent';
const APDM: NatBehaviourClass = 'address-and-port-dependent';
const ALL: readonly NatBehaviourClass[] = [EIM, ADM, APDM];

type Tri = 'yes' | 'no' | 'unknown';

interface Answered {
  server: UdpAddress;
  answer: NatProbeAnswer;
}

const same = (a: UdpAddress, b: UdpAddress): boolean => a.port === b.port && sameIp(a.host, b.host);

/**
 * Runs the discovery from our overlay UDP port (`local`: its addresses, one per interface when bound
 * to a wildcard, with the port) against `servers` (other peers' UDP addresses; two or more at
 * different IPs give the best verdicts). Never rejects.
 */
export async function discoverNatBehaviour(
  deps: NatBehaviourDeps,
  servers: readonly UdpAddress[],
  local: readonly UdpAddress[],
  options: Partial<NatBehaviourOptions> = {},
): Promise<NatBehaviourReport> {
  const o = { ...DEFAULT_NAT_BEHAVIOUR_OPTIONS, ...options };
  const evidence: NatEvidence[] = [];
  const contacted: UdpAddress[] = [];
  let probes = 0;

  const ask = async (server: UdpAddress, changePort: boolean, test: NatEvidence['test']): Promise<NatProbeAnswer | undefined> => {
    probes++;
    if (!contacted.some((c) => same(c, server))) contacted.push(server);
    const a = await bounded(deps.clock, () => deps.probe(server, { changePort, timeoutMs: o.probeTimeoutMs }), o.probeTimeoutMs + o.graceMs);
    evidence.push(
      a === undefined
        ? { test, server, answered: false }
        : {
            test,
            server,
            answered: true,
            mapped: a.mapped,
            ...(a.otherAddress === undefined ? {} : { otherAddress: a.otherAddress }),
            ...(a.responseOrigin === undefined ? {} : { responseOrigin: a.responseOrigin }),
          },
    );
    return a;
  };
  const isLocal = (m: UdpAddress): boolean => local.some((l) => same(l, m));

  // The servers worth asking: IP literals of our family, not ourselves, each once.
  const family = ipFamily(local[0]?.host ?? servers[0]?.host ?? '');
  const pool: UdpAddress[] = [];
  for (const s of servers) {
    if (ipFamily(s.host) !== family || !(s.port > 0 && s.port <= 0xffff) || isLocal(s) || pool.some((p) => same(p, s))) continue;
    pool.push(s);
  }

  // 1. Binding to up to firstProbes servers, distinct IPs first (RFC 5780 §4.3 test I, and II at once)
  const first: UdpAddress[] = [];
  for (const s of pool) if (first.length < o.firstProbes && !first.some((f) => sameIp(f.host, s.host))) first.push(s);
  for (const s of pool) if (first.length < o.firstProbes && !first.includes(s)) first.push(s);
  const results = await Promise.all(first.map((s) => ask(s, false, 'binding')));
  const answered: Answered[] = [];
  first.forEach((server, i) => {
    const answer = results[i];
    if (answer !== undefined) answered.push({ server, answer });
  });
  if (answered.length === 0) {
    const ips = new Set(first.map((f) => f.host)).size;
    const reason =
      first.length === 0
        ? 'no STUN server to ask (no other peer with a UDP address of our address family)'
        : `no STUN answer over UDP from ${first.length} server(s) at ${ips} IP address(es): UDP looks blocked, join as a client over TLS`;
    return {
      role: 'no-udp',
      confidence: first.length === 0 ? 'low' : ips >= 2 ? 'high' : first.length >= 2 ? 'medium' : 'low',
      reason,
      natted: undefined,
      publicAddress: undefined,
      mappedAddress: undefined,
      mapping: 'unknown',
      mappingPossible: [...ALL],
      filtering: 'unknown',
      filteringPossible: [...ALL],
      evidence,
      probes,
    };
  }
  // A: the first answer from a server with an alternate port (it allows step 3 and 5), else the first
  const a = answered.find((x) => x.answer.otherAddress !== undefined) ?? answered[0]!;
  const mA = a.answer.mapped;
  const notes: string[] = [];

  // 2. Unsolicited datagram from a helper (RFC 5780 §4.4 test II, through the overlay)
  let eif: Tri = 'unknown';
  let adfOrBetter: Tri = 'unknown';
  if (deps.unsolicited !== undefined) {
    const unsolicited = deps.unsolicited;
    const u = await bounded(deps.clock, () => unsolicited(mA, [...contacted], o.unsolicitedTimeoutMs), o.unsolicitedTimeoutMs + o.graceMs);
    if (u === undefined) notes.push('no helper for the unsolicited test');
    else {
      const sentTo = contacted.some((c) => same(c, u.helper));
      const sameIpSent = contacted.some((c) => sameIp(c.host, u.helper.host));
      const note = sentTo ? 'helper is an address we sent to: inconclusive' : sameIpSent ? 'helper at an IP we sent to, another port' : 'helper at an IP we never sent to';
      evidence.push({ test: 'unsolicited', server: u.helper, answered: u.reached, note });
      if (!sentTo && !sameIpSent) {
        if (u.reached) eif = adfOrBetter = 'yes';
        else eif = 'no';
      } else if (!sentTo) {
        if (u.reached) adfOrBetter = 'yes';
        else eif = adfOrBetter = 'no';
      }
    }
  }

  // 3. CHANGE-REQUEST change-port (RFC 5780 §4.4 test III) to a server whose alternate port we never sent to
  const f = answered.find(({ server, answer }) => {
    const other = answer.otherAddress;
    return other !== undefined && other.port !== server.port && !contacted.some((c) => same(c, { host: server.host, port: other.port }));
  });
  if (f !== undefined) {
    const c = await ask(f.server, true, 'change-port');
    if (c === undefined) {
      if (adfOrBetter !== 'yes') adfOrBetter = 'no';
      if (eif !== 'yes') eif = 'no';
    } else if (c.responseOrigin !== undefined && same(c.responseOrigin, f.server)) {
      notes.push('the change-port answer came from the primary port: inconclusive');
    } else {
      adfOrBetter = 'yes';
    }
  } else notes.push('no server with an alternate port for the change-port test');
  if (eif === 'yes') adfOrBetter = 'yes';
  if (adfOrBetter === 'no') eif = 'no';
  const filteringPossible = eif === 'yes' ? [EIM] : adfOrBetter === 'yes' ? (eif === 'no' ? [ADM] : [EIM, ADM]) : adfOrBetter === 'no' ? [APDM] : eif === 'no' ? [ADM, APDM] : [...ALL];

  // Mapping (RFC 5780 §4.3)
  const allMapped = (): UdpAddress[] => answered.map((x) => x.answer.mapped);
  let mappingPossible: NatBehaviourClass[];
  const nattedNow = (): boolean | undefined => (local.length === 0 ? undefined : allMapped().some((m) => !isLocal(m)));
  if (nattedNow() === false) {
    mappingPossible = [EIM];
  } else {
    // 4. another IP when phase 1 had only A's
    if (!answered.some((x) => !sameIp(x.server.host, a.server.host))) {
      const b = pool.find((s) => !sameIp(s.host, a.server.host) && !contacted.some((c) => same(c, s)));
      if (b !== undefined) {
        const r = await ask(b, false, 'other-ip');
        if (r !== undefined) answered.push({ server: b, answer: r });
      }
    }
    const otherIp = answered.filter((x) => !sameIp(x.server.host, a.server.host));
    const sameAcrossIps = otherIp.length > 0 && otherIp.every((x) => same(x.answer.mapped, mA));
    if (sameAcrossIps) mappingPossible = [EIM];
    else {
      // 5. A's IP at another port: A's alternate, a listed server, or one answered already
      const known = answered.find((x) => x !== a && sameIp(x.server.host, a.server.host) && x.server.port !== a.server.port);
      let m3: UdpAddress | undefined = known?.answer.mapped;
      if (known === undefined) {
        const alt = a.answer.otherAddress !== undefined && a.answer.otherAddress.port !== a.server.port ? { host: a.server.host, port: a.answer.otherAddress.port } : undefined;
        const target = alt ?? pool.find((s) => sameIp(s.host, a.server.host) && s.port !== a.server.port);
        if (target !== undefined) {
          const r = await ask(target, false, 'alternate-port');
          if (r !== undefined) {
            answered.push({ server: target, answer: r });
            m3 = r.mapped;
          }
        }
      }
      if (m3 === undefined) mappingPossible = otherIp.length > 0 ? [ADM, APDM] : [...ALL];
      else if (!same(m3, mA)) mappingPossible = [APDM];
      else mappingPossible = otherIp.length > 0 ? [ADM] : [EIM, ADM];
    }
  }

  // Verdict
  const natted = nattedNow();
  const publicAddress = allMapped().every((m) => addressScope(m.host) === 'public');
  const ips = new Set(answered.map((x) => x.server.host)).size;
  const mapping = mappingPossible.length === 1 ? mappingPossible[0]! : 'unknown';
  const filtering = filteringPossible.length === 1 ? filteringPossible[0]! : 'unknown';
  const behaviour = `mapping ${mapping === 'unknown' ? mappingPossible.join('|') : mapping}, filtering ${filtering === 'unknown' ? filteringPossible.join('|') : filtering}`;
  const seen = `${addressKey(mA)} as ${addressKey(a.server)} saw it, ${answered.length} answer(s) from ${ips} IP(s)`;
  const extra = notes.length > 0 ? ` (${notes.join('; ')})` : '';
  let role: NatRole;
  let confidence: NatConfidence;
  let reason: string;
  if (natted === undefined) {
    role = 'nat';
    confidence = 'low';
    reason = `our local addresses are unknown, so a NAT cannot be ruled out; ${seen}; ${behaviour}${extra}`;
  } else if (natted) {
    role = 'nat';
    confidence = 'high';
    reason = `behind a NAT: a mapped address is not one of ours (${seen}); ${behaviour}${extra}`;
  } else if (!publicAddress) {
    role = 'nat';
    confidence = 'high';
    reason = `no NAT between us and the servers, but ${mA.host} is ${addressScope(mA.host)} (RFC 6940 §9: not a TURN server candidate); ${behaviour}${extra}`;
  } else if (!filteringPossible.includes(EIM)) {
    role = 'nat';
    confidence = 'medium';
    reason = `public address ${addressKey(mA)} without NAT, but a firewall drops unsolicited datagrams (${behaviour}): relays and reflexive candidates needed${extra}`;
  } else {
    role = 'public';
    const score = (ips >= 2 ? 1 : 0) + (eif === 'yes' ? 1 : 0);
    confidence = score === 2 ? 'high' : score === 1 ? 'medium' : 'low';
    reason = `public address without NAT: ${seen}; ${behaviour}${extra}`;
  }
  return { role, confidence, reason, natted, publicAddress, mappedAddress: mA, mapping, mappingPossible, filtering, filteringPossible, evidence, probes };
}

/** `fn()`'s result, or undefined when it rejects or takes longer than `ms` on `clock`. */
function bounded<T>(clock: Clock, fn: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: T | undefined): void => {
      if (done) return;
      done = true;
      timer.cancel();
      resolve(v);
    };
    const timer = clock.setTimer(ms, () => finish(undefined));
    let p: Promise<T | undefined>;
    try {
      p = fn();
    } catch {
      finish(undefined);
      return;
    }
    p.then(finish, () => finish(undefined));
  });
}

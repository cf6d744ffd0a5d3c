/**
 * Post-dial delay (INVITE sent → 180 received) measured by a UDP user agent of our own
 * (DialogPhone: monotonic clock, sub-millisecond, unlike SIPp's ~4 ms timer ticks), on three
 * paths started fresh for every trial:
 *   overlay  — caller → peer A → overlay → peer B → callee (callee registered at B);
 *   kamailio — caller → Kamailio → callee (single proxy, bench/kamailio/kamailio.cfg);
 *   direct   — caller → callee (no proxy: what the two phones and loopback cost).
 * Per trial: the first call to a callee (on the overlay: Fetch + AppAttach to a peer not yet
 * attached), the first call to a second callee at the same peer (Fetch, attachment reused), then
 * `warmCalls` calls to the first callee at `rate` per second (started on a fixed schedule).
 */
import type { ProcessScope } from '../../harness/process-scope.js';
import { withScope } from '../../harness/process-scope.js';
import { DialogPhone } from '../../harness/dialog-phone.js';
import type { CallResult, HostPort } from '../../harness/dialog-phone.js';
import { startOverlayPeers } from '../../harness/overlay-peers.js';
import { startKamailio } from '../../harness/sip-server.js';
import { spread } from '../sip/rate-search.js';
import type { Spread } from '../sip/rate-search.js';

export type PddPath = 'overlay' | 'kamailio' | 'direct';
export const PDD_PATHS: readonly PddPath[] = ['overlay', 'kamailio', 'direct'];

export interface PddOptions {
  readonly trials: number;
  /** Later calls per trial. */
  readonly warmCalls: number;
  /** Calls per second of the later calls. */
  readonly rate: number;
  readonly log: (line: string) => void;
}

export interface PddTrial {
  /** ms INVITE → 180 of the first call to callee 1 (undefined: no 180). */
  readonly first: number | undefined;
  /** ms of the first call to callee 2 (same peer / same proxy). */
  readonly secondCallee: number | undefined;
  /** ms of each later call to callee 1 that rang. */
  readonly later: readonly number[];
  /** Calls that did not end with 200 to the INVITE and 200 to the BYE, or did not ring. */
  readonly failed: number;
  readonly error?: string;
}

export interface PddPathResult {
  readonly path: PddPath;
  readonly trials: readonly PddTrial[];
  /** Over trials: the first call, the first call to the second callee, the median of the later calls. */
  readonly first: Spread;
  readonly secondCallee: Spread;
  readonly laterMedian: Spread;
  /** 90th percentile of all later calls of all trials. */
  readonly laterP90: number;
  readonly failed: number;
}

export interface PddResult {
  readonly trials: number;
  readonly warmCalls: number;
  readonly rate: number;
  readonly paths: readonly PddPathResult[];
}

const OVERLAY = 'p2psip.local';
const LIFETIME_MS = 10 * 60_000;
const CALL_TIMEOUT_MS = 10_000;

export async function measurePostDialDelay(opts: PddOptions): Promise<PddResult> {
  const byPath = new Map<PddPath, PddTrial[]>(PDD_PATHS.map((p) => [p, []]));
  for (let i = 0; i < opts.trials; i++) {
    for (const path of PDD_PATHS) {
      let trial: PddTrial;
      try {
        trial = await withScope((scope) => runTrial(scope, path, opts));
      } catch (err) {
        trial = { first: undefined, secondCallee: undefined, later: [], failed: 0, error: (err as Error).message.split('\n')[0] ?? '' };
      }
      byPath.get(path)?.push(trial);
      opts.log(
        `   pdd ${path.padEnd(8)} trial ${i + 1}: first ${ms(trial.first)}, second callee ${ms(trial.secondCallee)}, ` +
          `later median ${ms(spread(trial.later).median)} (${trial.later.length} calls, ${trial.failed} failed)${trial.error === undefined ? '' : ` ERROR ${trial.error}`}`,
      );
    }
  }
  return {
    trials: opts.trials,
    warmCalls: opts.warmCalls,
    rate: opts.rate,
    paths: PDD_PATHS.map((path) => summarisePath(path, byPath.get(path) ?? [])),
  };
}

/** Spreads over the trials of one path (trials without a value are left out). */
export function summarisePath(path: PddPath, trials: readonly PddTrial[]): PddPathResult {
  const defined = (xs: ReadonlyArray<number | undefined>): number[] => xs.filter((x): x is number => x !== undefined);
  const allLater = trials.flatMap((t) => t.later);
  return {
    path,
    trials,
    first: spread(defined(trials.map((t) => t.first))),
    secondCallee: spread(defined(trials.map((t) => t.secondCallee))),
    laterMedian: spread(trials.filter((t) => t.later.length > 0).map((t) => spread(t.later).median)),
    laterP90: percentile(allLater, 0.9),
    failed: trials.reduce((a, t) => a + t.failed, 0),
  };
}

/** Nearest-rank percentile (0 for no values). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? 0;
}

async function runTrial(scope: ProcessScope, path: PddPath, opts: PddOptions): Promise<PddTrial> {
  // Where the callees register and where the caller sends (undefined: no proxy, direct).
  let registrar: HostPort | undefined;
  let callerProxy: HostPort | undefined;
  let domain = OVERLAY;
  if (path === 'overlay') {
    const [a, b] = await startOverlayPeers(scope, { count: 2, lifetimeMs: LIFETIME_MS, logLevel: 'error' });
    if (a === undefined || b === undefined) throw new Error('overlay did not start');
    registrar = { host: '127.0.0.1', port: b.port };
    callerProxy = { host: '127.0.0.1', port: a.port };
  } else if (path === 'kamailio') {
    const k = await startKamailio(scope, { lifetimeMs: LIFETIME_MS, workers: 4 });
    registrar = { host: '127.0.0.1', port: k.port };
    callerProxy = registrar;
    domain = `127.0.0.1:${k.port}`;
  }
  const callee1 = await DialogPhone.open('callee1', domain, registrar ?? { host: '127.0.0.1', port: 9 });
  const callee2 = await DialogPhone.open('callee2', domain, registrar ?? { host: '127.0.0.1', port: 9 });
  scope.defer(() => {
    callee1.close();
    callee2.close();
  });
  if (registrar !== undefined) {
    for (const c of [callee1, callee2]) {
      const status = await c.register(3600);
      if (status !== 200) throw new Error(`${c.user} could not register (${status})`);
    }
  }
  const target = (c: DialogPhone): string => (path === 'direct' ? c.contact : c.aor);
  const proxyFor = (c: DialogPhone): HostPort => callerProxy ?? { host: '127.0.0.1', port: c.port };
  const caller1 = await DialogPhone.open('caller', domain, proxyFor(callee1));
  const caller2 = await DialogPhone.open('caller', domain, proxyFor(callee2));
  scope.defer(() => {
    caller1.close();
    caller2.close();
  });
  let failed = 0;
  const rang = (r: CallResult | undefined): number | undefined => {
    if (r === undefined || r.status !== 200 || r.byeStatus !== 200 || r.ringMs === undefined) {
      failed++;
      return undefined;
    }
    return r.ringMs;
  };
  const attempt = async (caller: DialogPhone, callee: DialogPhone): Promise<CallResult | undefined> => {
    try {
      return await caller.call(target(callee), CALL_TIMEOUT_MS);
    } catch {
      return undefined;
    }
  };
  const first = rang(await attempt(caller1, callee1));
  const secondCallee = rang(await attempt(caller2, callee2));
  const later: number[] = [];
  const period = 1000 / opts.rate;
  const start = performance.now();
  for (let k = 0; k < opts.warmCalls; k++) {
    const wait = start + k * period - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const v = rang(await attempt(caller1, callee1));
    if (v !== undefined) later.push(v);
  }
  return { first, secondCallee, later, failed };
}

function ms(v: number | undefined): string {
  return v === undefined ? '—' : `${v.toFixed(2)} ms`;
}

/** The `capacity` benchmark's report (issue 18): its JSON and its section of BENCHMARKS.md. */
import type { MachineInfo } from '../sip/system-info.js';
import type { ReopenPhase, StorePhase, Writers } from './capacity-peer.js';

export const CAPACITY_SECTION_START = '<!-- capacity-bench:start (written by `npm run bench -- capacity`; edits here are overwritten) -->';
export const CAPACITY_SECTION_END = '<!-- capacity-bench:end -->';

export interface CapacityReport {
  readonly benchmark: 'capacity';
  readonly command: string;
  readonly machine: MachineInfo;
  readonly startedAt: string;
  readonly registrations: number;
  readonly writers: Writers;
  /** Bytes of the LMDB data directory after the run. */
  readonly diskBytes: number;
  readonly store: StorePhase;
  readonly reopen: ReopenPhase;
}

/** Bytes per registration held between two samples. */
export function perValue(after: number, before: number, n: number): number {
  return Math.round((after - before) / n);
}

const int = (x: number): string => Math.round(x).toLocaleString('en-US');
const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MiB`;

export function renderCapacitySection(r: CapacityReport, jsonPath: string): string {
  const s = r.store;
  const o = r.reopen;
  const n = r.registrations;
  const machine = `${r.machine.cpuModel}, ${r.machine.nproc} cores, node ${r.machine.node}`;
  return [
    '## Capacity: registrations held by one peer (issue 18)',
    '',
    `\`${r.command}\` — ${r.startedAt.slice(0, 10)}, ${machine}; raw data: \`${jsonPath}\`.`,
    '',
    `One peer's storage (StorageEngine over the LMDB backend in a fresh data directory) takes ${int(n)} SIP-REGISTRATION`,
    `Stores (140-byte value, 16-byte key, 72-byte signature; ${r.writers === 'own' ? "each signed by its phone's own user and Node-ID" : 'all signed by one registrar peer'};`,
    'a fake verifier: signature checks are not measured), then a new process re-opens the data directory as a restarting peer.',
    'Memory per registration is the growth between samples after a full GC, divided by the registrations held.',
    '',
    '| | |',
    '|---|---|',
    `| Stores accepted | ${int(s.stored)} of ${int(n)}${s.refused > 0 ? ` (first refusal: ${s.firstRefusal ?? ''})` : ''} |`,
    `| Store rate | ${int(s.storesPerSecond)} Stores/s (${s.storeSeconds.toFixed(1)} s, LMDB commits included) |`,
    `| Start-up (open + index rebuild) | ${(o.startupMs / 1000).toFixed(2)} s for ${int(o.resources)} resources |`,
    `| JS heap per registration (re-opened peer) | ${int(perValue(o.after.heapUsed, o.before.heapUsed, n))} B |`,
    `| Anonymous RSS per registration (re-opened peer) | ${int(perValue(o.after.rssAnon, o.before.rssAnon, n))} B |`,
    `| File-backed RSS per registration (LMDB map, reclaimable) | ${int(perValue(o.after.rssFile, o.before.rssFile, n))} B |`,
    `| RSS per registration (re-opened peer) | ${int(perValue(o.after.rss, o.before.rss, n))} B |`,
    `| RSS per registration (after the Stores) | ${int(perValue(s.after.rss, s.before.rss, n))} B (anonymous ${int(perValue(s.after.rssAnon, s.before.rssAnon, n))} B) |`,
    `| Fetch latency (${int(o.fetches)} random AoRs, ${int(o.fetchOk)} found) | mean ${o.fetchUs.mean.toFixed(0)} µs, p50 ${o.fetchUs.p50.toFixed(0)} µs, p99 ${o.fetchUs.p99.toFixed(0)} µs, max ${o.fetchUs.max.toFixed(0)} µs |`,
    `| Data directory | ${mib(r.diskBytes)} (${int(r.diskBytes / n)} B per registration) |`,
    '',
  ].join('\n');
}

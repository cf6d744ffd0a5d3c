/** JSON results and the BENCHMARKS.md section of the putget benchmark (only the text between its markers is rewritten). */
import { readFileSync } from 'node:fs';
import { resultFileName, writeBenchmarksSection, writeJsonFile } from '../bench-files.js';
import { replaceMarkedSection } from '../marked-section.js';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { PutGetRun } from './putget-reload.js';

export interface PutGetReport {
  startedAt: string;
  command: string;
  machine: { nproc: number; cpuModel: string; node: string; load1Before: number; exposeGc: boolean };
  runs: PutGetRun[];
}

export const PUTGET_SECTION_START = '<!-- putget-bench:start (written by `npm run bench -- putget`; edits here are overwritten) -->';
export const PUTGET_SECTION_END = '<!-- putget-bench:end -->';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function putgetMachine(): PutGetReport['machine'] {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    // not Linux
  }
  return { nproc: availableParallelism(), cpuModel: cpu, node: process.version, load1Before: loadavg()[0] ?? 0, exposeGc: typeof (globalThis as { gc?: unknown }).gc === 'function' };
}

export function replacePutgetSection(doc: string, section: string): string {
  return replaceMarkedSection(doc, PUTGET_SECTION_START, PUTGET_SECTION_END, section);
}

export function renderPutgetSection(r: PutGetReport, file: string, load1After?: number): string {
  const m = r.machine;
  const rows = r.runs.map(
    (x) =>
      `| ${x.system} | ${x.nodes} | ${x.put.median} | ${x.put.p95} | ${x.put.p99} | ${x.get.median} | ${x.get.p95} | ${x.get.p99} | ${x.failures}/${x.ops} | ${x.rssPerPeerMB} | ${x.heapPerPeerMB} | ${x.joinSeconds} |`,
  );
  return [
    '## Store + Fetch latency: p2psip vs hyperdht (putget)',
    '',
    `Run ${r.startedAt} with \`${r.command}\`; raw data: \`${file}\`.`,
    '',
    `Machine: ${m.nproc} cores, ${m.cpuModel}, node ${m.node}; load average (1 min) ${m.load1Before.toFixed(2)} before the run${load1After === undefined ? '' : `, ${load1After.toFixed(2)} after it`} (other work on this machine slows the CPU-bound p2psip side most).`,
    '',
    `Method: all peers of a system in this one process on 127.0.0.1, the systems one after the other. Each operation: one peer stores a ${r.runs[0]?.valueBytes ?? 200}-byte value (p2psip: a SIP-REGISTRATION dictionary entry under the writer's user name, signed; hyperdht: mutablePut under the writer's key pair), then another peer fetches it (p2psip: Fetch with signature and access-policy check; hyperdht: mutableGet latest). Operations run one at a time; warm-up operations are not counted. Latencies in ms (nearest-rank percentiles). p2psip peers: mutual TLS links (self-signed ECDSA P-256 certificates), every message signed and verified (ECDSA P-256), storage in memory. RSS per peer = (RSS after all peers joined − RSS before) / N${m.exposeGc ? ', both after a full GC' : ' (no --expose-gc: includes garbage)'}; RSS can undercount when a system reuses pages freed by the one before, so heap+external (V8 heap in use + Buffers/TLS memory) is given too.`,
    '',
    '| system | N | put median | put p95 | put p99 | get median | get p95 | get p99 | failures | RSS/peer MB | heap+external/peer MB | start s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    'Notes: a p2psip Store is answered by the responsible peer once it and the first of its two replicas hold the value. A p2psip Fetch goes straight to the responsible peer when the fetcher learned it from an earlier answer and holds a link to it (route cache), else along CHORD (1–2 hops at 20 peers, 2–4 at 100). hyperdht\'s put waits for its query to the closest nodes. hyperdht signs the value (ed25519) but not its messages, and its UDP carries no TLS.',
  ].join('\n');
}

export function writePutgetResults(report: PutGetReport): string[] {
  const file = `bench/results/${resultFileName('putget', report.startedAt)}`;
  const load1After = loadavg()[0] ?? 0;
  writeJsonFile(REPO_ROOT, file, { ...report, load1After });
  writeBenchmarksSection(REPO_ROOT, PUTGET_SECTION_START, PUTGET_SECTION_END, renderPutgetSection(report, file, load1After));
  return [file, 'BENCHMARKS.md'];
}

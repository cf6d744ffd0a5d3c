/**
 * The measurements of the idle-rss benchmark: `p2psip up` child processes left idle and read from
 * /proc; an empty node program for comparison; the cost of each heavy module imported alone; and
 * which packages a peer loads by the time it is ready.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import type { ProcessScope } from '../../harness/process-scope.js';
import type { BoundedProcess } from '../../harness/bounded-process.js';
import { findInTree } from '../../harness/rtp-relay-status.js';
import { median, readMemory, type MemoryBreakdown } from './process-memory.js';

/** How a peer is started for one row of the table. */
export interface IdleVariant {
  readonly name: string;
  /** `p2psip up` options besides the data directory, --sip, --http and --outbound none. */
  readonly args: readonly string[];
  /** Measure the first start in an empty data directory (the identity is made by the measured process). */
  readonly fresh: boolean;
  readonly about: string;
}

export const IDLE_VARIANTS: readonly IdleVariant[] = [
  {
    name: 'first-start',
    args: ['--listen', '127.0.0.1:0'],
    fresh: true,
    about: 'overlay links on loopback (so LAN discovery is off), empty data directory: the measured process makes the identity (key pair and self-signed certificate)',
  },
  { name: 'loopback', args: ['--listen', '127.0.0.1:0'], fresh: false, about: 'overlay links on loopback (so LAN discovery is off), identity from an earlier start' },
  {
    name: 'lan',
    args: ['--listen', '0.0.0.0:0'],
    fresh: false,
    about: "overlay links on every interface with LAN discovery on (the defaults: mDNS and the multicast bootstrap on this machine's interfaces)",
  },
  { name: 'lan-no-discovery', args: ['--listen', '0.0.0.0:0', '--no-discovery'], fresh: false, about: 'as lan, with `--no-discovery`' },
  { name: 'standalone', args: ['--standalone'], fresh: false, about: '`--standalone`: no overlay, the SIP front and the HTTP API only' },
];

/** The line `p2psip up` prints once it serves (harness/sip-server.ts waits for the same). */
const READY_LINE = /SIP front listening/;
const READY_TIMEOUT_MS = 60_000;

export interface VariantResult {
  readonly variant: string;
  readonly args: readonly string[];
  /** Spawn to the ready line, ms. */
  readonly readyMs: number;
  /** One reading `earlyS` after ready. */
  readonly early: MemoryBreakdown;
  /** The reading with the median RSS of the idle samples. */
  readonly idle: MemoryBreakdown;
  /** RSS of every idle sample, kB. */
  readonly idleRssKb: readonly number[];
  /** The peer's own view after the samples (its /metrics: prom-client's default process metrics), bytes; undefined when unreadable. */
  readonly v8?: { readonly heapUsed: number; readonly heapTotal: number; readonly external: number; readonly newSpaceSize?: number } | undefined;
}

/** A variant that could not be measured. */
export interface VariantFailure {
  readonly variant: string;
  readonly args: readonly string[];
  readonly error: string;
}

export type VariantOutcome = VariantResult | VariantFailure;

export function failed(r: VariantOutcome | undefined): r is VariantFailure {
  return r !== undefined && 'error' in r;
}

export interface IdleRunOptions {
  readonly cli: string;
  readonly earlyS: number;
  readonly idleS: number;
  readonly samples: number;
  readonly log: (line: string) => void;
}

/** Starts one variant, samples it, stops it. */
export async function measureVariant(scope: ProcessScope, v: IdleVariant, o: IdleRunOptions): Promise<VariantResult> {
  const dataDir = scope.tempDir('p2psip-idle-');
  const sip = await scope.port();
  const http = await scope.port();
  const args = [o.cli, 'up', '--data-dir', dataDir, '--sip', `127.0.0.1:${sip}`, '--http', `127.0.0.1:${http}`, '--outbound', 'none', ...v.args];
  const lifetimeMs = (o.idleS + 90) * 1000;
  if (!v.fresh) {
    // an earlier start makes the identity (and the API token), as a peer's second and later starts find them
    const first = scope.spawn({ command: process.execPath, args, name: `p2psip ${v.name} (identity)`, lifetimeMs, maxLines: 2000 });
    await first.waitForLine(READY_LINE, { timeoutMs: READY_TIMEOUT_MS });
    await first.stop('SIGTERM', 8000);
  }
  const started = Date.now();
  const proc = scope.spawn({ command: process.execPath, args, name: `p2psip ${v.name}`, lifetimeMs, maxLines: 2000 });
  try {
    await proc.waitForLine(READY_LINE, { timeoutMs: READY_TIMEOUT_MS });
    const readyAt = Date.now();
    const pid = nodePid(proc);
    await sleepUntil(readyAt + o.earlyS * 1000);
    const early = mustRead(pid, proc);
    const samples: MemoryBreakdown[] = [];
    for (let i = 0; i < o.samples; i++) {
      await sleepUntil(readyAt + (o.idleS - (o.samples - 1 - i)) * 1000);
      samples.push(mustRead(pid, proc));
    }
    const mid = median(samples.map((s) => s.rssKb))!;
    const idle = samples.find((s) => s.rssKb === mid)!;
    const v8 = await scrapeHeap(http);
    o.log(`  ${v.name}: ready in ${readyAt - started} ms; RSS ${mb(early.rssKb)} MB at ${o.earlyS} s, ${mb(idle.rssKb)} MB idle (anon ${mb(idle.anonKb)}, file ${mb(idle.fileKb)})`);
    return { variant: v.name, args: v.args, readyMs: readyAt - started, early, idle, idleRssKb: samples.map((s) => s.rssKb), v8 };
  } finally {
    await proc.stop('SIGTERM', 8000);
  }
}

/** An empty node program (a timer keeps it alive) read the same way: what node itself costs. */
export async function measureEmptyNode(scope: ProcessScope, o: IdleRunOptions): Promise<VariantResult> {
  const started = Date.now();
  const proc = scope.spawn({
    command: process.execPath,
    args: ['-e', "setInterval(() => {}, 1000); process.stdout.write('idle-rss: ready\\n');"],
    name: 'node (empty program)',
    lifetimeMs: (o.idleS + 30) * 1000,
  });
  try {
    await proc.waitForLine(/idle-rss: ready/, { timeoutMs: 20_000 });
    const readyAt = Date.now();
    const pid = nodePid(proc);
    await sleepUntil(readyAt + o.earlyS * 1000);
    const early = mustRead(pid, proc);
    const samples: MemoryBreakdown[] = [];
    for (let i = 0; i < o.samples; i++) {
      await sleepUntil(readyAt + (o.earlyS + 1 + i) * 1000);
      samples.push(mustRead(pid, proc));
    }
    const mid = median(samples.map((s) => s.rssKb))!;
    const idle = samples.find((s) => s.rssKb === mid)!;
    o.log(`  node (empty program): RSS ${mb(idle.rssKb)} MB (anon ${mb(idle.anonKb)}, file ${mb(idle.fileKb)})`);
    return { variant: 'node', args: [], readyMs: readyAt - started, early, idle, idleRssKb: samples.map((s) => s.rssKb) };
  } finally {
    await proc.stop('SIGTERM', 3000);
  }
}

export interface ImportCost {
  readonly label: string;
  readonly specifiers: readonly string[];
  /** Medians over the repetitions, kB / bytes. */
  readonly rssKb: number;
  readonly anonKb: number;
  readonly fileKb: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly error?: string;
}

/** The modules measured one by one (each alone in a fresh node); paths under dist/ are taken from the CLI's build. */
export function importEntries(cliRoot: string): { label: string; specifiers: string[] }[] {
  const dist = (p: string): string => pathToFileURL(join(cliRoot, 'dist', 'src', p)).href;
  return [
    { label: 'nothing (node itself)', specifiers: [] },
    { label: 'lmdb', specifiers: ['lmdb'] },
    { label: 'pino', specifiers: ['pino'] },
    { label: 'pino-pretty', specifiers: ['pino-pretty'] },
    { label: 'commander', specifiers: ['commander'] },
    { label: 'prom-client', specifiers: ['prom-client'] },
    { label: 'multicast-dns', specifiers: ['multicast-dns'] },
    { label: 'sdp-transform', specifiers: ['sdp-transform'] },
    { label: 'ws', specifiers: ['ws'] },
    { label: 'fast-xml-parser', specifiers: ['fast-xml-parser'] },
    { label: 'werift-dtls', specifiers: ['werift-dtls/lib/dtls/src/index.js'] },
    { label: '@peculiar/x509 (+ reflect-metadata)', specifiers: ['reflect-metadata', '@peculiar/x509'] },
    { label: "the peer's modules (dist/src/node/run-peer.js and what it imports statically)", specifiers: [dist('node/run-peer.js')] },
    {
      label: '… and the command line\'s other commands (sim, demo, enroll-server, user)',
      specifiers: [dist('node/run-peer.js'), dist('cli/sim-command.js'), dist('cli/demo-command.js'), dist('cli/enroll-server-command.js'), dist('cli/user-command.js')],
    },
  ];
}

// Imports the modules of IDLE_RSS_IMPORTS in order, then idles (a timer keeps it alive) for
// IDLE_RSS_WAIT_MS like a peer, collects the garbage (two full GCs: the heap in use is then what the
// modules keep) and prints what /proc and V8 say.
const IMPORT_PROBE = `
import { readFileSync } from 'node:fs';
for (const s of JSON.parse(process.env.IDLE_RSS_IMPORTS)) await import(s);
const keepAlive = setInterval(() => {}, 1000);
await new Promise((r) => setTimeout(r, Number(process.env.IDLE_RSS_WAIT_MS)));
globalThis.gc();
globalThis.gc();
await new Promise((r) => setTimeout(r, 200));
const st = readFileSync('/proc/self/status', 'utf8');
const kb = (k) => Number(new RegExp('^' + k + ':\\\\s+(\\\\d+)', 'm').exec(st)[1]);
const m = process.memoryUsage();
process.stdout.write(JSON.stringify({ rssKb: kb('VmRSS'), anonKb: kb('RssAnon'), fileKb: kb('RssFile'), heapUsed: m.heapUsed, heapTotal: m.heapTotal }));
clearInterval(keepAlive);
`;

type ProbeReading = { rssKb: number; anonKb: number; fileKb: number; heapUsed: number; heapTotal: number };

/** One probe process: its reading, or the reason there is none. */
function runImportProbe(cliRoot: string, specifiers: readonly string[], waitS: number): Promise<ProbeReading | string> {
  return new Promise((resolveProbe) => {
    const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', IMPORT_PROBE], {
      cwd: cliRoot,
      env: { ...process.env, IDLE_RSS_IMPORTS: JSON.stringify(specifiers), IDLE_RSS_WAIT_MS: String(waitS * 1000) },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: (waitS + 60) * 1000,
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-10_000)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-10_000)));
    child.on('error', (e) => resolveProbe(e.message));
    child.on('close', (code, signal) => {
      try {
        resolveProbe(JSON.parse(out) as ProbeReading);
      } catch {
        resolveProbe((err.split('\n').find((l) => /Error/.test(l)) ?? `exit ${String(code ?? signal)}, no reading`).slice(0, 200));
      }
    });
  });
}

/**
 * Each entry imported alone into a fresh node (cwd `cliRoot`, so bare names resolve from its
 * node_modules) that then idles `waitS` seconds, like a peer before its idle readings; the entries of
 * one round run at the same time, `reps` rounds one after the other.
 */
export async function measureImports(cliRoot: string, waitS: number, reps: number, log: (line: string) => void): Promise<ImportCost[]> {
  const entries = importEntries(cliRoot);
  const readings: (ProbeReading | string)[][] = entries.map(() => []);
  for (let round = 0; round < reps; round++) {
    const got = await Promise.all(entries.map((e) => runImportProbe(cliRoot, e.specifiers, waitS)));
    got.forEach((g, i) => readings[i]!.push(g));
  }
  return entries.map((e, i) => {
    const runs = readings[i]!.filter((r): r is ProbeReading => typeof r !== 'string');
    const error = readings[i]!.find((r): r is string => typeof r === 'string');
    const med = (f: (x: ProbeReading) => number): number => median(runs.map(f)) ?? 0;
    const cost: ImportCost = {
      label: e.label,
      specifiers: e.specifiers.map((s) => (s.startsWith('file:') ? `dist/src/${s.split('/dist/src/')[1] ?? s}` : s)),
      rssKb: med((x) => x.rssKb),
      anonKb: med((x) => x.anonKb),
      fileKb: med((x) => x.fileKb),
      heapUsed: med((x) => x.heapUsed),
      heapTotal: med((x) => x.heapTotal),
      ...(runs.length === 0 && error !== undefined ? { error } : {}),
    };
    log(`  import ${e.label}: RSS ${mb(cost.rssKb)} MB, V8 heap used ${(cost.heapUsed / 1048576).toFixed(1)} MB${cost.error === undefined ? '' : ` (${cost.error})`}`);
    return cost;
  });
}

// Preloaded with --require: notes every package a module is loaded from (CommonJS through
// Module._resolveFilename, ES modules through a resolve hook) on stderr.
const LOAD_PROBE = `
const Module = require('node:module');
const seen = new Set();
const note = (where) => {
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(String(where));
  if (m !== null && !seen.has(m[1])) { seen.add(m[1]); process.stderr.write('idle-rss-loaded ' + m[1] + '\\n'); }
};
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (...a) { const r = resolveFilename.apply(this, a); note(r); return r; };
Module.register('data:text/javascript,' + encodeURIComponent(
  "export async function resolve(s, c, next) { const r = await next(s, c); const m = /node_modules\\\\/((?:@[^/]+\\\\/)?[^/]+)/.exec(r.url); if (m !== null) process.stderr.write('idle-rss-loaded ' + m[1] + '\\\\n'); return r; }"));
`;

/** The npm packages a peer of `variant` has loaded once it is ready (a separate, unmeasured run), sorted. */
export async function packagesLoadedAtStart(scope: ProcessScope, v: IdleVariant, cli: string): Promise<string[]> {
  const dir = scope.tempDir('p2psip-idle-probe-');
  const probe = join(dir, 'load-probe.cjs');
  writeFileSync(probe, LOAD_PROBE);
  const sip = await scope.port();
  const http = await scope.port();
  const args = ['--require', probe, cli, 'up', '--data-dir', join(dir, 'data'), '--sip', `127.0.0.1:${sip}`, '--http', `127.0.0.1:${http}`, '--outbound', 'none', ...v.args];
  const prep = scope.spawn({ command: process.execPath, args: args.slice(2), name: 'p2psip (identity)', lifetimeMs: 90_000 });
  await prep.waitForLine(READY_LINE, { timeoutMs: READY_TIMEOUT_MS });
  await prep.stop('SIGTERM', 8000);
  const proc = scope.spawn({ command: process.execPath, args, name: 'p2psip (load probe)', lifetimeMs: 90_000, maxLines: 5000 });
  try {
    await proc.waitForLine(READY_LINE, { timeoutMs: READY_TIMEOUT_MS });
    // the ready line is printed after the start; give the start's last steps a moment to load theirs
    await new Promise((r) => setTimeout(r, 2000));
    const names = new Set<string>();
    for (const l of proc.lines()) {
      const m = /^idle-rss-loaded (\S+)$/.exec(l);
      if (m !== null) names.add(m[1]!);
    }
    return [...names].sort();
  } finally {
    await proc.stop('SIGTERM', 8000);
  }
}

/** Load average (1 min). */
export function load1(): number {
  return loadavg()[0] ?? 0;
}

export function mb(kb: number): string {
  return (kb / 1024).toFixed(1);
}

function nodePid(proc: BoundedProcess): number {
  const pid = findInTree(proc.pid, /node/);
  if (pid === undefined) throw new Error(`${proc.name}: no node process under pid ${proc.pid}`);
  return pid;
}

function mustRead(pid: number, proc: BoundedProcess): MemoryBreakdown {
  const m = readMemory(pid);
  if (m === undefined) throw new Error(`${proc.name}: /proc/${pid} unreadable (exited?)\n${proc.tail(20)}`);
  return m;
}

async function sleepUntil(t: number): Promise<void> {
  const ms = t - Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

/** V8's heap as the peer reports it on /metrics (prom-client's default metrics), or undefined. */
async function scrapeHeap(httpPort: number): Promise<VariantResult['v8']> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return undefined;
    const text = await res.text();
    const value = (re: RegExp): number | undefined => {
      const m = re.exec(text);
      return m === null ? undefined : Number(m[1]);
    };
    const heapUsed = value(/^nodejs_heap_size_used_bytes\s+(\S+)/m);
    const heapTotal = value(/^nodejs_heap_size_total_bytes\s+(\S+)/m);
    const external = value(/^nodejs_external_memory_bytes\s+(\S+)/m);
    const newSpaceSize = value(/^nodejs_heap_space_size_total_bytes\{space="new"\}\s+(\S+)/m);
    if (heapUsed === undefined || heapTotal === undefined || external === undefined) return undefined;
    return { heapUsed, heapTotal, external, ...(newSpaceSize === undefined ? {} : { newSpaceSize }) };
  } catch {
    return undefined;
  }
}

import assert from 'node:assert/strict';
/**
 * Runs SIPp bounded in count and time (-m, -timeout, -recv_timeout, -nostdin) on loopback,
 * with its statistics (-trace_stat CSV, -trace_screen) and unexpected-message log
 * (-trace_err) written into a directory the caller owns, and returns them parsed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BoundedProcess, ExitInfo } from './bounded-process.js';
import type { ProcessScope } from './process-scope.js';
import { parseSippScreen, parseSippStatCsv, parseSippStatSeries } from './sipp-stats.js';
import type { SippStatPoint, SippStats } from './sipp-stats.js';

export type LoopbackHost = '127.0.0.1' | '::1';

export interface SippOptions {
  /** Name used for the files in `workDir` and in messages. */
  readonly name: string;
  /** Scenario XML path. */
  readonly scenario: string;
  /** Directory for the stat/screen/error files (the SIPp working directory). */
  readonly workDir: string;
  /** Local address and port SIPp binds (-i, -p). */
  readonly localHost?: LoopbackHost;
  readonly localPort: number;
  /** Remote host:port for a UAC (omit for a UAS). Loopback only. */
  readonly remote?: { readonly host: LoopbackHost; readonly port: number };
  /** Stop after this many calls (-m). Required: every run is bounded. */
  readonly calls: number;
  /** Calls per second (-r); SIPp's default is 10. */
  readonly rate?: number;
  /** Rate period in ms (-rp). */
  readonly ratePeriodMs?: number;
  /** Most simultaneous calls (-l). */
  readonly maxConcurrent?: number;
  /** Global timeout in seconds (-timeout, with -timeout_error). */
  readonly timeoutS: number;
  /** Per-recv timeout in ms (-recv_timeout). Default 5000. */
  readonly recvTimeoutMs?: number;
  /** Injection CSV (-inf). */
  readonly injectionFile?: string;
  /** -key name value substitutions ([name] in the scenario). */
  readonly keys?: Readonly<Record<string, string>>;
  /** Percentage of packets SIPp drops on purpose (-lost). */
  readonly lossPercent?: number;
  /** Transport mode (-t). Default u1: one UDP socket. */
  readonly transport?: 'u1' | 'un' | 't1' | 'tn';
  /** Socket send/receive buffer size in bytes (-buff_size). */
  readonly bufferSize?: number;
  /** -default_behaviors (e.g. '-bye': no BYE for aborted calls). SIPp's default: all. */
  readonly defaultBehaviors?: string;
  /** Interval of the statistics dumps in ms (-fd). Default 1000. */
  readonly statsIntervalMs?: number;
  /** Log every message to <name>-messages.log (-trace_msg); slow, for debugging. */
  readonly traceMessages?: boolean;
  /**
   * First of four ports for SIPp's RTP echo sockets (-mp: audio, video at +2). SIPp binds them
   * even when the scenario has no media, and by default every SIPp takes 6000/6002 or the next
   * free pair; two SIPps starting at the same moment on one address race for the pair and one
   * exits 254 (EADDRINUSE on the video socket). startSipp allocates four free ports when this
   * is omitted (and extraArgs has no -mp).
   */
  readonly mediaPort?: number;
  readonly extraArgs?: readonly string[];
}

export interface SippResult {
  readonly name: string;
  readonly exit: ExitInfo;
  /** SIPp's own exit code: 0 all calls succeeded, 1 some failed, 97/99 see sipp(1), 255/254 fatal. */
  readonly exitCode: number | null;
  /** From the stat CSV; undefined if SIPp wrote none. */
  readonly stats: SippStats | undefined;
  /** Every statistics dump, as a time series. */
  readonly series: readonly SippStatPoint[];
  /** Counts from the screen dump (fallback when there is no CSV). */
  readonly screenCounts: { readonly successfulCalls: number; readonly failedCalls: number } | undefined;
  /** Up to 16 KiB of the unexpected-message log. */
  readonly errorsExcerpt: string;
  /** SIPp's last lines on stdout/stderr (its fatal errors, e.g. a port in use, go there). */
  readonly outputTail: string;
  readonly wallMs: number;
  readonly args: readonly string[];
}

export interface SippRun {
  /** Resolves when SIPp has exited, with its parsed results. */
  readonly done: Promise<SippResult>;
  /** Stops SIPp early (SIGTERM, then SIGKILL) and returns what it produced. */
  stop(): Promise<SippResult>;
}

const MAX_ERRORS_EXCERPT = 16 * 1024;
const MAX_LOG_BYTES = 4 * 1024 * 1024;

/** Builds the SIPp command line for `opts`. */
export function sippArgs(opts: SippOptions): string[] {
  const host = opts.localHost ?? '127.0.0.1';
  const files = sippFiles(opts);
  const args: string[] = [];
  if (opts.remote !== undefined) args.push(formatHostPort(opts.remote.host, opts.remote.port));
  args.push('-sf', opts.scenario, '-i', host, '-p', String(opts.localPort));
  args.push('-m', String(opts.calls), '-timeout', `${opts.timeoutS}s`, '-timeout_error');
  args.push('-recv_timeout', String(opts.recvTimeoutMs ?? 5000), '-nostdin');
  args.push('-t', opts.transport ?? 'u1');
  if (opts.rate !== undefined) args.push('-r', String(opts.rate));
  if (opts.ratePeriodMs !== undefined) args.push('-rp', String(opts.ratePeriodMs));
  if (opts.maxConcurrent !== undefined) args.push('-l', String(opts.maxConcurrent));
  if (opts.injectionFile !== undefined) args.push('-inf', opts.injectionFile);
  for (const [k, v] of Object.entries(opts.keys ?? {})) args.push('-key', k, v);
  if (opts.lossPercent !== undefined) args.push('-lost', String(opts.lossPercent));
  if (opts.bufferSize !== undefined) args.push('-buff_size', String(opts.bufferSize));
  if (opts.defaultBehaviors !== undefined) args.push('-default_behaviors', opts.defaultBehaviors);
  args.push('-trace_stat', '-stf', files.stats, '-fd', `${opts.statsIntervalMs ?? 1000}ms`);
  args.push('-trace_screen', '-screen_file', files.screen);
  args.push('-trace_err', '-error_file', files.errors, '-max_log_size', String(MAX_LOG_BYTES));
  if (opts.traceMessages === true) args.push('-trace_msg', '-message_file', files.messages);
  if (opts.mediaPort !== undefined) args.push('-mp', String(opts.mediaPort));
  args.push(...(opts.extraArgs ?? []));
  return args;
}

/** Starts SIPp in the background (e.g. a UAS); await `done` or call `stop()`. */
export function startSipp(scope: ProcessScope, opts: SippOptions): SippRun {
  const started = Date.now();
  const spawned = (async (): Promise<{ proc: BoundedProcess; args: string[] }> => {
    const ownMedia = opts.mediaPort !== undefined || (opts.extraArgs ?? []).includes('-mp');
    const mediaPort = ownMedia ? opts.mediaPort : await scope.port({ host: opts.localHost ?? '127.0.0.1', span: 4 });
    const args = sippArgs({ ...opts, mediaPort });
    const proc = scope.spawn({
      command: 'sipp',
      args,
      name: `sipp:${opts.name}`,
      cwd: opts.workDir,
      // A few seconds past SIPp's own global timeout.
      lifetimeMs: (opts.timeoutS + 5) * 1000,
      maxLines: 2000,
    });
    return { proc, args };
  })();
  const done = spawned.then(async ({ proc, args }) => {
    const exit = await proc.exited;
    return collect(opts, exit, Date.now() - started, args, proc.tail(20));
  });
  return {
    done,
    async stop() {
      const { proc } = await spawned;
      await proc.stop('SIGTERM', 3000);
      return done;
    },
  };
}

/** Runs SIPp to completion. */
export function runSipp(scope: ProcessScope, opts: SippOptions): Promise<SippResult> {
  return startSipp(scope, opts).done;
}

/**
 * Writes an injection CSV: first line the read order, then one `;`-terminated row per
 * entry (field0;field1;...).
 */
export function writeInjectionFile(
  path: string,
  rows: readonly (readonly string[])[],
  order: 'SEQUENTIAL' | 'RANDOM' | 'USER' = 'SEQUENTIAL',
): void {
  for (const row of rows) {
    for (const field of row) {
      if (/[;\r\n]/.test(field)) throw new Error(`injection field may not contain ; or newlines: ${field}`);
    }
  }
  writeFileSync(path, [order, ...rows.map((r) => `${r.join(';')};`)].join('\n') + '\n');
}

/** One-line summary for assertion messages. */
export function describeSippResult(r: SippResult): string {
  const s = r.stats;
  const counts =
    s !== undefined
      ? `created=${s.totalCallsCreated} ok=${s.successfulCalls} failed=${s.failedCalls} ` +
        `retrans=${s.retransmissions} causes=${JSON.stringify(s.failureCauses)}`
      : `screen=${JSON.stringify(r.screenCounts)}`;
  const line = `${r.name}: exit=${String(r.exitCode)} ${counts} wall=${r.wallMs}ms`;
  // 254/255: SIPp stopped on a fatal error before or instead of running calls; say which.
  const fatal = r.exitCode === 254 || r.exitCode === 255;
  return fatal && r.outputTail.trim() !== '' ? `${line}\n--- sipp output ---\n${r.outputTail.trim()}` : line;
}

function sippFiles(opts: SippOptions): { stats: string; screen: string; errors: string; messages: string } {
  const base = join(opts.workDir, basename(opts.name));
  return {
    stats: `${base}-stats.csv`,
    screen: `${base}-screen.log`,
    errors: `${base}-errors.log`,
    messages: `${base}-messages.log`,
  };
}

function collect(opts: SippOptions, exit: ExitInfo, wallMs: number, args: readonly string[], outputTail: string): SippResult {
  const files = sippFiles(opts);
  const statsText = readBounded(files.stats, 8 * 1024 * 1024, 'tail');
  const screenText = readBounded(files.screen, 1024 * 1024, 'tail');
  const errorsText = readBounded(files.errors, MAX_ERRORS_EXCERPT, 'head');
  return {
    name: opts.name,
    exit,
    exitCode: exit.code,
    stats: statsText === '' ? undefined : parseSippStatCsv(statsText),
    series: parseSippStatSeries(statsText),
    screenCounts: screenText === '' ? undefined : parseSippScreen(screenText),
    errorsExcerpt: errorsText,
    outputTail,
    wallMs,
    args,
  };
}

function readBounded(path: string, max: number, keep: 'head' | 'tail'): string {
  if (!existsSync(path)) return '';
  const buf = readFileSync(path);
  if (buf.length <= max) return buf.toString('utf8');
  if (keep === 'head') return buf.subarray(0, max).toString('utf8');
  // Keep the CSV header with the tail.
  const text = buf.toString('utf8');
  const firstLine = text.slice(0, text.indexOf('\n') + 1);
  return firstLine + text.slice(-max);
}

function formatHostPort(host: LoopbackHost, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A SIPp UAS's run: described as a diagnostic, `calls` successful calls, and with `cleanExit` SIPp's exit code 0. */
export function assertUasCalls(t: { diagnostic(message: string): void }, r: SippResult, calls: number, cleanExit: boolean): void {
  t.diagnostic(describeSippResult(r));
  if (cleanExit) assert.equal(r.exitCode, 0, `${describeSippResult(r)}\n${r.errorsExcerpt}`);
  assert.equal(r.stats?.successfulCalls, calls, describeSippResult(r));
}

/** A UAC run that completed every call: exit 0, `calls` successful, none failed (reported as a test diagnostic). */
export function assertAllCallsPassed(t: { diagnostic(message: string): void }, r: SippResult, calls: number): void {
  t.diagnostic(describeSippResult(r));
  assert.equal(r.exitCode, 0, `${describeSippResult(r)}\n${r.errorsExcerpt}`);
  assert.equal(r.stats?.successfulCalls, calls, describeSippResult(r));
  assert.equal(r.stats?.failedCalls, 0, describeSippResult(r));
}

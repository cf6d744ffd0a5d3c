/**
 * SIPp on a NAT lab host: the same bounded command line as harness/sipp-runner.ts (-m, -timeout,
 * -recv_timeout, -nostdin, statistics files in `workDir`), bound to the host's address and run in its
 * namespace; the result parsed the same way (SippResult).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ExitInfo } from '../bounded-process.js';
import { sippArgs } from '../sipp-runner.js';
import type { SippOptions, SippResult, SippRun } from '../sipp-runner.js';
import { parseSippScreen, parseSippStatCsv, parseSippStatSeries } from '../sipp-stats.js';
import type { LabHost } from './lab-host.js';

export interface LabSippOptions extends Omit<SippOptions, 'localHost' | 'remote'> {
  /** host:port of the far end for a UAC (the local peer's SIP front); omit for a UAS. */
  readonly remote?: string;
}

const MAX_ERRORS_EXCERPT = 16 * 1024;

/** The SIPp command line for `opts` on `host` (its address in -i). */
export function labSippArgs(host: LabHost, opts: LabSippOptions): string[] {
  const { remote, ...rest } = opts;
  const args = sippArgs(rest);
  const i = args.indexOf('-i');
  if (i < 0) throw new Error('internal: sippArgs gave no -i');
  args[i + 1] = host.address;
  return remote === undefined ? args : [remote, ...args];
}

/** Starts SIPp in `host`'s namespace; await `done` or call `stop()`. */
export function startLabSipp(host: LabHost, opts: LabSippOptions): SippRun {
  const args = labSippArgs(host, opts);
  const started = Date.now();
  const proc = host.spawn({ command: 'sipp', args, name: `sipp:${opts.name}@${host.name}`, cwd: opts.workDir, lifetimeMs: (opts.timeoutS + 5) * 1000, maxLines: 2000 });
  const done = proc.exited.then((exit) => collect(opts, exit, Date.now() - started, args, proc.tail(20)));
  return {
    done,
    async stop() {
      await proc.stop('SIGTERM', 3000);
      return done;
    },
  };
}

/** Runs SIPp in `host`'s namespace to completion. */
export function runLabSipp(host: LabHost, opts: LabSippOptions): Promise<SippResult> {
  return startLabSipp(host, opts).done;
}

/**
 * Response times (ms, sorted) of every call from the -trace_rtt files SIPp wrote in `workDir`
 * (`<scenario>_<pid>_rtt.csv`; column 1 is the rtd="true" mark).
 */
export function sippResponseTimes(workDir: string): number[] {
  const out: number[] = [];
  if (!existsSync(workDir)) return out;
  for (const f of readdirSync(workDir).filter((x) => x.endsWith('_rtt.csv'))) {
    for (const line of readFileSync(join(workDir, f), 'utf8').trim().split('\n').slice(1)) {
      const v = Number(line.split(';')[1]);
      if (Number.isFinite(v)) out.push(v);
    }
  }
  return out.sort((a, b) => a - b);
}

/** The `p` quantile (0–1) of sorted values, or undefined when there are none. */
export function quantile(sorted: readonly number[], p: number): number | undefined {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function collect(opts: LabSippOptions, exit: ExitInfo, wallMs: number, args: readonly string[], outputTail: string): SippResult {
  const base = join(opts.workDir, basename(opts.name));
  const statsText = readBounded(`${base}-stats.csv`, 8 * 1024 * 1024);
  const screenText = readBounded(`${base}-screen.log`, 1024 * 1024);
  const errorsText = readBounded(`${base}-errors.log`, MAX_ERRORS_EXCERPT);
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

/** The file's text; a longer file keeps its first line (the CSV header) and its last `max` bytes. */
function readBounded(path: string, max: number): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  if (text.length <= max) return text;
  return text.slice(0, text.indexOf('\n') + 1) + text.slice(-max);
}

/**
 * What a benchmark result must say about where it ran: cores, CPU model, kernel, node and
 * tool versions, socket buffer limits, load; and the kernel's UDP receive-buffer error
 * counter (nstat), read before and after each trial.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

export interface MachineInfo {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly node: string;
  readonly tools: Readonly<Record<string, string>>;
  /** net.core.rmem_max / rmem_default in bytes (what SO_RCVBUF may reach). */
  readonly rmemMax: number | undefined;
  readonly rmemDefault: number | undefined;
}

export function machineInfo(): MachineInfo {
  const cpuinfo = readText('/proc/cpuinfo');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  return {
    nproc: availableParallelism(),
    cpuModel: model,
    kernel: readText('/proc/sys/kernel/osrelease').trim() || 'unknown',
    node: process.version,
    tools: {
      sipp: firstMatch(run('sipp', ['-v']), /SIPp v[\w.-]*\w/) ?? 'unknown',
      kamailio: firstMatch(run('kamailio', ['-v']), /kamailio [\d.]+/) ?? 'unknown',
      nstat: firstMatch(run('nstat', ['-V']), /\S+$/m) ?? 'unknown',
    },
    rmemMax: readNumber('/proc/sys/net/core/rmem_max'),
    rmemDefault: readNumber('/proc/sys/net/core/rmem_default'),
  };
}

/** 1-minute load average (a noise indicator: other work on the machine). */
export function load1(): number {
  return loadavg()[0] ?? 0;
}

/**
 * Machine-wide UdpRcvbufErrors + Udp6RcvbufErrors (absolute, `nstat -az`), or undefined
 * when nstat is unavailable. `historyFile` keeps nstat's own history out of $HOME and /tmp.
 */
export function udpRcvbufErrors(historyFile: string): number | undefined {
  const out = run('nstat', ['-az', 'UdpRcvbufErrors', 'Udp6RcvbufErrors'], { NSTAT_HISTORY: historyFile });
  if (out === '') return undefined;
  let total = 0;
  let seen = false;
  for (const m of out.matchAll(/^Udp6?RcvbufErrors\s+(\d+)/gm)) {
    total += Number(m[1]);
    seen = true;
  }
  return seen ? total : undefined;
}

function run(cmd: string, args: readonly string[], env: Record<string, string> = {}): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      timeout: 5000,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { stdout?: unknown };
    return typeof e.stdout === 'string' ? e.stdout : '';
  }
}

function firstMatch(text: string, re: RegExp): string | undefined {
  return re.exec(text)?.[0]?.trim();
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function readNumber(path: string): number | undefined {
  const v = Number(readText(path).trim());
  return Number.isFinite(v) && readText(path).trim() !== '' ? v : undefined;
}

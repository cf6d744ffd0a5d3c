/**
 * Loopback capture with tshark during an interop run, then Wireshark's own SIP dissector
 * as the judge: every packet on the test's ports is decoded as SIP and nothing may be
 * malformed or carry an expert warning/error.
 */
import { statSync } from 'node:fs';
import type { BoundedProcess } from './bounded-process.js';
import type { InteropScope } from './interop-scope.js';

export interface CaptureOptions {
  /** pcap file to write (inside a temp dir). */
  readonly file: string;
  /** UDP and TCP ports to capture (the capture filter). */
  readonly ports: readonly number[];
  readonly lifetimeMs: number;
  /** Stop after this many packets (-c), a bound on the file size. Default 2,000,000. */
  readonly maxPackets?: number;
  /** Also stop once the file holds this many KiB (-a filesize), a bound on disk use. Default none. */
  readonly maxFileKiB?: number;
}

export interface Capture {
  readonly file: string;
  readonly ports: readonly number[];
  /** Stops the capture (SIGINT) and waits until the pcap is flushed. */
  stop(): Promise<void>;
}

export interface SipDissection {
  /** Packets the SIP dissector decoded. */
  readonly sipPackets: number;
  /** Lines "frame<TAB>protocol<TAB>info<TAB>expert" of malformed or warned packets (at most 50). */
  readonly problems: readonly string[];
  /** Total problem packets (problems is truncated to 50). */
  readonly problemCount: number;
}

/**
 * Malformed packets, or expert warnings from the dissectors we are judged by. TCP's own analysis of
 * the loopback connection (duplicate ACKs, segments the capture missed) is the kernel's business, not
 * our bytes: a warning that TCP analysis raised does not count. Nor does a D-SACK on a pure ACK (no
 * payload, so nothing of ours in it): Wireshark files it as a TCP option expert, not under
 * tcp.analysis.flags, and clean-clone CI runs of the TCP-to-UDP SIPp test hit it twice.
 */
export const PROBLEM_FILTER = '_ws.malformed || (_ws.expert.severity >= warning && !tcp.analysis.flags && !(tcp.options.sack.dsack && tcp.len == 0))';

const MAX_PROBLEM_LINES = 50;

/** BPF capture filter for UDP and TCP traffic on the ports. */
export function captureFilter(ports: readonly number[]): string {
  if (ports.length === 0) throw new Error('capture needs at least one port');
  for (const p of ports) if (!Number.isInteger(p) || p <= 0 || p > 65535) throw new RangeError(`bad port ${p}`);
  return [...new Set(ports)].map((p) => `udp port ${p} or tcp port ${p}`).join(' or ');
}

/** tshark -d options decoding UDP and TCP on the ports as SIP. */
export function decodeAsSip(ports: readonly number[]): string[] {
  const args: string[] = [];
  for (const p of new Set(ports)) args.push('-d', `udp.port==${p},sip`, '-d', `tcp.port==${p},sip`);
  return args;
}

/** Starts `tshark -i lo` for the ports; resolves once it reports that it is capturing. */
export async function startCapture(scope: InteropScope, opts: CaptureOptions): Promise<Capture> {
  const proc: BoundedProcess = scope.spawn({
    command: 'tshark',
    args: ['-i', 'lo', '-n', '-q', '-f', captureFilter(opts.ports), '-c', String(opts.maxPackets ?? 2_000_000), ...(opts.maxFileKiB === undefined ? [] : ['-a', `filesize:${opts.maxFileKiB}`]), '-w', opts.file],
    name: 'tshark-capture',
    lifetimeMs: opts.lifetimeMs,
    maxLines: 500,
  });
  await proc.waitForLine(/Capturing on/, { timeoutMs: 15_000 });
  return {
    file: opts.file,
    ports: opts.ports,
    async stop() {
      await proc.stop('SIGINT', 5000);
      if (statSync(opts.file, { throwIfNoEntry: false }) === undefined) {
        throw new Error(`tshark wrote no ${opts.file}:\n${proc.tail()}`);
      }
    },
  };
}

/** Reads the pcap back with every port decoded as SIP and reports SIP packets and problems. */
export async function dissectSip(scope: InteropScope, file: string, ports: readonly number[]): Promise<SipDissection> {
  const decode = decodeAsSip(ports);
  const count = scope.spawn({
    command: 'tshark',
    args: ['-r', file, '-n', ...decode, '-Y', 'sip', '-T', 'fields', '-e', 'frame.number'],
    name: 'tshark-count',
    lifetimeMs: 120_000,
    maxLines: 10,
  });
  let sipPackets = 0;
  count.onLine((line) => {
    if (/^\d+$/.test(line.trim())) sipPackets++;
  });
  const countExit = await count.exited;
  if (countExit.code !== 0) throw new Error(`tshark -r ${file} failed (${String(countExit.code)}):\n${count.tail()}`);

  const check = scope.spawn({
    command: 'tshark',
    args: [
      '-r', file, '-n', ...decode, '-Y', PROBLEM_FILTER,
      '-T', 'fields', '-E', 'separator=/t',
      '-e', 'frame.number', '-e', '_ws.col.Protocol', '-e', '_ws.col.Info', '-e', '_ws.expert.message',
    ],
    name: 'tshark-check',
    lifetimeMs: 120_000,
    maxLines: 1000,
  });
  const problems: string[] = [];
  let problemCount = 0;
  check.onLine((line) => {
    if (!/^\d+\t/.test(line)) return;
    problemCount++;
    if (problems.length < MAX_PROBLEM_LINES) problems.push(line);
  });
  const checkExit = await check.exited;
  if (checkExit.code !== 0) throw new Error(`tshark -Y check failed (${String(checkExit.code)}):\n${check.tail()}`);
  return { sipPackets, problems, problemCount };
}

export interface ResponseRepeats {
  /** SIP responses seen from srcPort to dstPort. */
  readonly responses: number;
  /** How many of them repeat an earlier (Call-ID, CSeq, status) — retransmissions. */
  readonly repeats: number;
}

/** Counts SIP responses sent over UDP from srcPort to dstPort and how many were sent again. */
export async function countResponseRepeats(
  scope: InteropScope,
  file: string,
  ports: readonly number[],
  srcPort: number,
  dstPort: number,
): Promise<ResponseRepeats> {
  const proc = scope.spawn({
    command: 'tshark',
    args: [
      '-r', file, '-n', ...decodeAsSip(ports),
      '-Y', `sip.Status-Code && udp.srcport == ${srcPort} && udp.dstport == ${dstPort}`,
      '-T', 'fields', '-E', 'separator=|', '-e', 'sip.Call-ID', '-e', 'sip.CSeq', '-e', 'sip.Status-Code',
    ],
    name: 'tshark-repeats',
    lifetimeMs: 120_000,
    maxLines: 10,
  });
  const seen = new Set<string>();
  let responses = 0;
  let repeats = 0;
  proc.onLine((line) => {
    if (!line.includes('|')) return;
    responses++;
    if (seen.has(line)) repeats++;
    else seen.add(line);
  });
  const exit = await proc.exited;
  if (exit.code !== 0) throw new Error(`tshark -r ${file} failed (${String(exit.code)}):\n${proc.tail()}`);
  return { responses, repeats };
}

/** Runs tshark (reading a capture) and returns its non-empty output lines; throws on a non-zero exit. */
export async function tsharkLines(scope: InteropScope, args: readonly string[]): Promise<string[]> {
  // PDML lines of undissected payload ("data" fields) hold the bytes in hex: a 16 KiB TLS record is a
  // 32 KiB line, so lines are kept whole up to 1 MiB (a truncated line would break the PDML nesting).
  const proc = scope.spawn({ command: 'tshark', args: [...args], name: 'tshark-read', lifetimeMs: 60_000, maxLines: 1000, maxLineLength: 1 << 20 });
  const lines: string[] = [];
  proc.onLine((l) => {
    if (l.trim() !== '') lines.push(l);
  });
  const exit = await proc.exited;
  if (exit.code !== 0) throw new Error(`tshark ${args.join(' ')} failed (${String(exit.code)}):\n${proc.tail()}`);
  return lines;
}

/**
 * tshark options that decrypt a TLS overlay link on `port` with an NSS key log and hand the
 * plaintext to Wireshark's RELOAD framing dissector. `reload-framing` is not offered for `tls.port`
 * in Decode As (Wireshark 4.0), but the TLS "RSA keys list" entry (ip, port, protocol, key file)
 * registers the port→protocol association: `rsaKeyFile` must be any readable RSA key (unused —
 * ECDHE sessions are decrypted with the key log).
 */
export function decodeReloadOverTls(port: number, keylogFile: string, rsaKeyFile: string): string[] {
  return [
    '-o', `tls.keylog_file:${keylogFile}`,
    '-d', `tcp.port==${port},tls`,
    '-o', `uat:ssl_keys:"127.0.0.1","${port}","reload-framing","${rsaKeyFile}",""`,
  ];
}

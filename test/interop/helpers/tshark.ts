/**
 * Loopback capture with tshark during an interop run, then Wireshark's own SIP dissector
 * as the judge: every packet on the test's ports is decoded as SIP and nothing may be
 * malformed or carry an expert warning/error.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { BoundedProcess } from '../../../harness/bounded-process.js';
import type { ProcessScope } from '../../../harness/process-scope.js';

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
  /**
   * Sends a marker datagram to the capture's own UDP port and waits until the pcap file holds it (every
   * packet sent before is in the file too: loopback packets are captured, and written, in order), then
   * stops the capture (SIGINT).
   */
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

/** How long a marker may take to reach the pcap file (dumpcap writes out what it captured several times a second). */
const MARK_TIMEOUT_MS = 15_000;
const MARK_RESEND_MS = 100;

/**
 * Resolves once `file` holds `token`, reading only what was appended since the last look (a capture
 * can grow to hundreds of MiB). `send` is called at once and again every MARK_RESEND_MS: dumpcap may
 * not be capturing yet when the first one goes out.
 */
async function untilFileHolds(file: string, token: Buffer, send: () => void, what: string): Promise<void> {
  let from = 0;
  const end = Date.now() + MARK_TIMEOUT_MS;
  for (;;) {
    send();
    const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (size > from) {
      const start = Math.max(0, from - token.length);
      const buf = Buffer.alloc(size - start);
      const fd = openSync(file, 'r');
      try {
        readSync(fd, buf, 0, buf.length, start);
      } finally {
        closeSync(fd);
      }
      if (buf.includes(token)) return;
      from = size;
    }
    if (Date.now() > end) throw new Error(`${what}: no marker in ${file} within ${MARK_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, MARK_RESEND_MS));
  }
}

/**
 * Starts `tshark -i lo` for the ports and resolves once packets really reach the file ("Capturing on"
 * comes before dumpcap captures): a marker sent to the capture's own UDP port is in it.
 */
export async function startCapture(scope: ProcessScope, opts: CaptureOptions): Promise<Capture> {
  const marker = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    marker.once('error', reject);
    marker.bind(0, '127.0.0.1', () => resolve());
  });
  marker.on('message', () => undefined); // markers come back to us: read and dropped
  scope.defer(() => {
    marker.close();
  });
  const markerPort = marker.address().port;
  const proc: BoundedProcess = scope.spawn({
    command: 'tshark',
    args: ['-i', 'lo', '-n', '-q', '-f', captureFilter([...opts.ports, markerPort]), '-c', String(opts.maxPackets ?? 2_000_000), ...(opts.maxFileKiB === undefined ? [] : ['-a', `filesize:${opts.maxFileKiB}`]), '-w', opts.file],
    name: 'tshark-capture',
    lifetimeMs: opts.lifetimeMs,
    maxLines: 500,
  });
  await proc.waitForLine(/Capturing on/, { timeoutMs: 15_000 });
  let ended = false;
  void proc.exited.then(() => (ended = true));
  let marks = 0;
  const mark = async (): Promise<void> => {
    const token = Buffer.from(`p2psip capture marker ${++marks} ${randomBytes(8).toString('hex')}`);
    await untilFileHolds(opts.file, token, () => marker.send(token, markerPort, '127.0.0.1'), `capture mark ${marks}`).catch((e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${proc.tail()}`);
    });
  };
  await mark();
  return {
    file: opts.file,
    ports: opts.ports,
    async stop() {
      // a capture that reached its -c or -a bound has ended already: its file is complete as it is
      if (!ended) await mark();
      await proc.stop('SIGINT', 5000);
      if (statSync(opts.file, { throwIfNoEntry: false }) === undefined) {
        throw new Error(`tshark wrote no ${opts.file}:\n${proc.tail()}`);
      }
    },
  };
}

/** Reads the pcap back with every port decoded as SIP and reports SIP packets and problems. */
export async function dissectSip(scope: ProcessScope, file: string, ports: readonly number[]): Promise<SipDissection> {
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
  scope: ProcessScope,
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
export async function tsharkLines(scope: ProcessScope, args: readonly string[]): Promise<string[]> {
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

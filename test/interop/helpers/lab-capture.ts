/**
 * A packet capture inside a NAT lab namespace (harness/nat-lab): `tshark -i <iface> -w <file>` run
 * with the lab's spawn helper (so the lab's dispose() stops it at the latest), bounded by `-a
 * duration:`, `-c` and its process lifetime. Capturing on the public bridge (`br0` in the lab's
 * public namespace; tshark puts it in promiscuous mode, so the bridge hands it every frame it
 * forwards between its ports) sees all traffic between public hosts and site routers.
 *
 * "Capturing on" is printed before dumpcap really captures, and dumpcap writes the file a few times
 * a second: as in tshark.ts, a marker datagram (sent from a lab host across the segment until the
 * file holds it) proves the capture live at the start, and at the stop that everything sent before
 * it is in the file.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { LabNamespace } from '../../../harness/nat-lab/index.js';

export interface LabCaptureOptions {
  /** pcapng file to write (inside a temp dir). */
  readonly file: string;
  /** Interface inside `where` (e.g. the public bridge `br0`). */
  readonly iface: string;
  /** BPF capture filter; must let the markers (UDP to `markTo`:`markPort`) through. */
  readonly filter: string;
  /** `-a duration:` bound, seconds. */
  readonly durationS: number;
  /** `-c` bound, packets. */
  readonly maxPackets: number;
  /** Namespace that sends the marker datagrams (a lab host whose traffic crosses the interface). */
  readonly markFrom: LabNamespace;
  /** Address the markers go to (across the captured segment; nothing needs to listen there). */
  readonly markTo: string;
  /** UDP port of the markers (default 9, discard). */
  readonly markPort?: number;
}

export interface LabCapture {
  readonly file: string;
  /** Marks the end (waits until the file holds the marker), then stops tshark with SIGINT. */
  stop(): Promise<void>;
  /** tshark's last output lines (for error messages). */
  tail(): string;
}

const MARK_TIMEOUT_MS = 15_000;
const MARK_RESEND_MS = 100;

/** Starts tshark in `where` and resolves once a marker sent across the interface is in the file. */
export async function startLabCapture(where: LabNamespace, opts: LabCaptureOptions): Promise<LabCapture> {
  const proc = where.spawn({
    command: 'tshark',
    args: ['-i', opts.iface, '-n', '-q', '-f', opts.filter, '-a', `duration:${opts.durationS}`, '-c', String(opts.maxPackets), '-w', opts.file],
    name: 'tshark-lab-capture',
    lifetimeMs: (opts.durationS + 15) * 1000,
    maxLines: 500,
  });
  await proc.waitForLine(/Capturing on/, { timeoutMs: 15_000 });
  let marks = 0;
  const mark = async (): Promise<void> => {
    const token = `p2psip lab capture marker ${++marks} ${randomBytes(8).toString('hex')}`;
    const send = (): Promise<unknown> =>
      opts.markFrom.tryRun('bash', ['-c', 'printf %s "$1" > "/dev/udp/$2/$3"', 'bash', token, opts.markTo, String(opts.markPort ?? 9)], { timeoutMs: 2000 });
    await untilFileHolds(opts.file, Buffer.from(token), send).catch((e: unknown) => {
      throw new Error(`capture mark ${marks}: ${e instanceof Error ? e.message : String(e)}\n${proc.tail()}`);
    });
  };
  await mark();
  return {
    file: opts.file,
    tail: () => proc.tail(),
    async stop() {
      // a capture that reached its -c or -a bound has ended already: its file is complete as it is
      if (proc.exitInfo === undefined) await mark();
      await proc.stop('SIGINT', 5000);
      if (statSync(opts.file, { throwIfNoEntry: false }) === undefined) throw new Error(`tshark wrote no ${opts.file}:\n${proc.tail()}`);
    },
  };
}

/** Resolves once `file` holds `token`, sending it again every MARK_RESEND_MS (reads only what was appended). */
async function untilFileHolds(file: string, token: Buffer, send: () => Promise<unknown>): Promise<void> {
  let from = 0;
  const end = Date.now() + MARK_TIMEOUT_MS;
  for (;;) {
    await send();
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
    if (Date.now() > end) throw new Error(`no marker in ${file} within ${MARK_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, MARK_RESEND_MS));
  }
}

/**
 * Runs inside a NAT lab namespace next to a baresip (`ip netns exec <ns> node --import tsx
 * harness/nat-lab/nat-softphone-ctrl.ts <ctrl-port> <cons-port>`): baresip's ctrl_tcp and cons
 * sockets listen on the namespace's own loopback, out of the test process's reach, so this relays
 * them over stdio.
 *
 *   stdin:  one JSON command per line ({"command":"dial","params":"sip:…","token":"1"}), sent to
 *           ctrl_tcp as a netstring
 *   stdout: `ready` once both sockets are connected, then `ctrl <json>` per ctrl_tcp frame (responses
 *           and events, one line each) and `cons <text>` per line of the cons console
 * Exits when stdin closes or baresip closes ctrl_tcp.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';

const MAX_FRAME = 256 * 1024;
const CONNECT_LIMIT_MS = 15_000;

function usage(): never {
  process.stderr.write('usage: nat-softphone-ctrl <ctrl-port> <cons-port>\n');
  process.exit(2);
}

const [ctrlText, consText] = process.argv.slice(2);
const ctrlPort = Number(ctrlText);
const consPort = Number(consText);
if (!Number.isInteger(ctrlPort) || !Number.isInteger(consPort) || ctrlPort <= 0 || consPort <= 0) usage();

/** Connects to 127.0.0.1:port, retrying while baresip is still starting (bounded). */
async function connectRetrying(port: number): Promise<Socket> {
  const t0 = Date.now();
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port });
        s.once('connect', () => {
          s.removeListener('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (err) {
      if (Date.now() - t0 > CONNECT_LIMIT_MS) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Netstring frames (`<len>:<payload>,`) out of a byte stream; throws on bad framing. */
function netstringFrames(): (chunk: Buffer) => string[] {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const out: string[] = [];
    for (;;) {
      const colon = buf.indexOf(0x3a);
      if (colon === -1) {
        if (buf.length > 10) throw new Error('netstring: length prefix too long');
        return out;
      }
      const len = Number(buf.subarray(0, colon).toString('latin1'));
      if (!Number.isInteger(len) || len < 0 || len > MAX_FRAME) throw new Error('netstring: bad length');
      const end = colon + 1 + len;
      if (buf.length < end + 1) return out;
      if (buf[end] !== 0x2c) throw new Error('netstring: missing trailing comma');
      out.push(buf.subarray(colon + 1, end).toString('utf8'));
      buf = buf.subarray(end + 1);
    }
  };
}

async function main(): Promise<void> {
  const ctrl = await connectRetrying(ctrlPort);
  const cons = await connectRetrying(consPort);
  const frames = netstringFrames();
  ctrl.on('data', (chunk: Buffer) => {
    for (const f of frames(chunk)) process.stdout.write(`ctrl ${f.replace(/[\r\n]+/g, ' ')}\n`);
  });
  ctrl.on('close', () => process.exit(0));
  ctrl.on('error', () => undefined);
  let partial = '';
  cons.setEncoding('utf8');
  cons.on('data', (text: string) => {
    // baresip redraws its console line with bare CRs: they end a line too
    const lines = (partial + text).split(/\r\n|\r|\n/);
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.trim() !== '') process.stdout.write(`cons ${l}\n`);
    if (partial.length > 8192) {
      process.stdout.write(`cons ${partial}\n`);
      partial = '';
    }
  });
  cons.on('error', () => undefined);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    const body = Buffer.from(line, 'utf8');
    ctrl.write(Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from(',')]));
  });
  rl.on('close', () => {
    ctrl.end();
    cons.end();
    setTimeout(() => process.exit(0), 200).unref();
  });
  process.stdout.write('ready\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

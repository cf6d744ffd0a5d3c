/**
 * The tshark part of the TURN interop tests: capture the test's ports on loopback, then require
 * Wireshark's STUN/TURN dissector (the given ports decoded as STUN, which covers ChannelData) to
 * decode the exchange with nothing malformed or warned, and tally what it saw: methods, classes,
 * ChannelData. Without root (or tshark) the check is a diagnostic, as in sip-capture-check.ts.
 */
import { join } from 'node:path';
import type { ProcessScope } from '../../../harness/process-scope.js';
import { isRoot, missingTools } from '../../../harness/require-tools.js';
import { PROBLEM_FILTER, startCapture, tsharkLines } from './tshark.js';
import type { Capture } from './tshark.js';
import type { DiagnosticContext } from './sip-capture-check.js';

export interface StunDissection {
  /** Packets the STUN dissector decoded (messages and ChannelData). */
  readonly stunPackets: number;
  /** "method/class" → count, e.g. "0x0003/0x0000" (Allocate request). */
  readonly messages: ReadonlyMap<string, number>;
  readonly channelData: number;
  /** Malformed or warned packets ("frame<TAB>protocol<TAB>info<TAB>expert"). */
  readonly problems: readonly string[];
}

export interface StunCaptureCheck {
  readonly file: string | undefined;
  /** Stops the capture and dissects it; undefined when no capture was made. */
  finish(): Promise<StunDissection | undefined>;
}

/** Method numbers as Wireshark prints them. */
export const METHOD = { Binding: '0x0001', Allocate: '0x0003', Refresh: '0x0004', Send: '0x0006', Data: '0x0007', CreatePermission: '0x0008', ChannelBind: '0x0009' } as const;
/** Class values as Wireshark 4.0 prints them (the C1 and C0 bits where they sit in the type: 0x0100 → 0x0010, 0x0010 → 0x0001). */
export const CLASS = { request: '0x0000', indication: '0x0001', success: '0x0010', error: '0x0011' } as const;

export async function startStunCaptureCheck(
  t: DiagnosticContext,
  scope: ProcessScope,
  opts: { readonly dir: string; readonly name: string; readonly ports: readonly number[]; readonly stunPorts: readonly number[]; readonly lifetimeMs: number },
): Promise<StunCaptureCheck> {
  let capture: Capture | undefined;
  if (missingTools(['tshark']).length > 0) t.diagnostic('tshark not installed: STUN dissector check left out');
  else if (!isRoot() && process.env['P2PSIP_INTEROP_CAPTURE'] !== '1') t.diagnostic('not root: loopback capture left out (set P2PSIP_INTEROP_CAPTURE=1 if dumpcap may capture)');
  else capture = await startCapture(scope, { file: join(opts.dir, `${opts.name}.pcap`), ports: opts.ports, lifetimeMs: opts.lifetimeMs, maxPackets: 200_000 });
  return {
    file: capture?.file,
    async finish() {
      if (capture === undefined) return undefined;
      await capture.stop();
      const decode: string[] = [];
      for (const p of new Set(opts.stunPorts)) decode.push('-d', `udp.port==${p},stun`);
      const lines = await tsharkLines(scope, ['-r', capture.file, '-n', ...decode, '-Y', 'stun', '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.number', '-e', 'stun.type.method', '-e', 'stun.type.class', '-e', 'stun.channel']);
      const messages = new Map<string, number>();
      let channelData = 0;
      let stunPackets = 0;
      for (const l of lines) {
        const [frame, method, cls, channel] = l.split('\t');
        if (frame === undefined || !/^\d+$/.test(frame)) continue;
        stunPackets++;
        if (method !== undefined && method !== '') {
          const k = `${method}/${cls ?? ''}`;
          messages.set(k, (messages.get(k) ?? 0) + 1);
        } else if (channel !== undefined && channel !== '') channelData++;
      }
      const problems = (
        // only frames the STUN dissector decoded: a relay port that happens to be another protocol's
        // well-known port (collectd's 25826, seen in CI) gets that dissector's complaints about our payload
        await tsharkLines(scope, ['-r', capture.file, '-n', ...decode, '-Y', `(${PROBLEM_FILTER}) && stun`, '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.number', '-e', '_ws.col.Protocol', '-e', '_ws.col.Info', '-e', '_ws.expert.message'])
      ).filter((l) => /^\d+\t/.test(l));
      t.diagnostic(`tshark: ${stunPackets} STUN/TURN packets (${channelData} ChannelData; ${[...messages].map(([k, v]) => `${k}×${v}`).join(' ')}), ${problems.length} malformed/warned`);
      return { stunPackets, messages, channelData, problems };
    },
  };
}

/** Count of `method`/`cls` messages in a dissection. */
export function count(d: StunDissection, method: string, cls: string): number {
  return d.messages.get(`${method}/${cls}`) ?? 0;
}

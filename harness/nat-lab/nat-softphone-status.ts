/**
 * A p2psip peer's /api/status read from inside its lab namespace with plain node (no tsx: a poll
 * of several peers stays cheap on a 2-core machine), and the SIP-channel part of it summarised for
 * test diagnostics (`nat.sipChannels`: which candidate pair each open channel uses).
 */
import type { LabHost } from './lab-host.js';

const STATUS_SCRIPT =
  'fetch(process.argv[1],{signal:AbortSignal.timeout(8000)}).then(r=>r.text()).then(t=>process.stdout.write(t.replace(/\\n/g," ")+"\\n"),e=>{process.stderr.write(String(e)+"\\n");process.exit(1)})';

/** GET /api/status of the peer whose API listens on `http` (default 127.0.0.1:8060) in `host`'s namespace. */
export async function labPeerStatus(host: LabHost, http = '127.0.0.1:8060'): Promise<Record<string, unknown>> {
  const out = await host.run(process.execPath, ['-e', STATUS_SCRIPT, `http://${http}/api/status`], { timeoutMs: 10_000 });
  return JSON.parse(out) as Record<string, unknown>;
}

interface SipChannelLink {
  readonly phase?: string;
  readonly pair?: string;
  readonly remote?: string;
  readonly setupMs?: number;
}

/** One line: the peer's NAT role, its open SIP channels (pair→remote, set-up time) and recent failures. */
export function describeSipChannels(status: Record<string, unknown>): string {
  const nat = status['nat'] as { role?: unknown; sipChannels?: { sip?: unknown; links?: SipChannelLink[]; recentFailures?: unknown[] } } | null | undefined;
  const ch = nat?.sipChannels;
  const open = (ch?.links ?? []).filter((l) => l.phase === 'open').map((l) => `${l.pair ?? '?'}→${l.remote ?? '?'} in ${Math.round(l.setupMs ?? 0)} ms`);
  const failures = JSON.stringify(ch?.recentFailures ?? []).slice(0, 300);
  return `role ${JSON.stringify(nat?.role ?? null)}; SIP channels ${JSON.stringify(ch?.sip ?? null)} open ${JSON.stringify(open)}; failures ${failures}`;
}

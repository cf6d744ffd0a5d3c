/**
 * A phone inside a NAT lab namespace (`ip netns exec <ns> node --import tsx harness/nat-lab/lab-phone.ts …`),
 * a DialogPhone (harness/dialog-phone.ts) bound to the host's address, its peer as registrar and
 * outbound proxy:
 *
 *   answer <bind> <user> <domain> <proxy host:port> <seconds>
 *       REGISTERs, prints `registered <status>`, answers every INVITE (180, 200), BYE and MESSAGE
 *       for <seconds>, then prints `answered {"invites":n,"messages":n}` and exits.
 *   call <bind> <user> <domain> <proxy host:port> <target AoR> <calls> [timeout-ms]
 *       REGISTERs, sends one MESSAGE, then places <calls> whole calls one after the other (INVITE,
 *       ACK, BYE); prints one JSON line {"registered":s,"message":s,"ok":n,"failed":n,"statuses":{…},
 *       "ringMsMedian":n,"finalMsMedian":n,"slow":n (calls whose final answer took over 5 s),"firstFailure":"…"}.
 */
import { DialogPhone } from '../dialog-phone.js';

function hp(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i), port: Number(text.slice(i + 1)) };
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]! * 10) / 10;
};

async function main(): Promise<void> {
  const [mode, bind, user, domain, proxy, ...rest] = process.argv.slice(2);
  if (mode === undefined || bind === undefined || user === undefined || domain === undefined || proxy === undefined) throw new Error('usage: lab-phone answer|call <bind> <user> <domain> <proxy> …');
  const phone = await DialogPhone.open(user, domain, hp(proxy), bind);
  const reg = await phone.register(600, 15_000).catch(() => 0);
  if (mode === 'answer') {
    process.stdout.write(`registered ${reg}\n`);
    await new Promise((r) => setTimeout(r, Number(rest[0] ?? '60') * 1000));
    const invites = phone.received.filter((t) => t.startsWith('INVITE ')).length;
    const messages = phone.received.filter((t) => t.startsWith('MESSAGE ')).length;
    process.stdout.write(`answered ${JSON.stringify({ invites, messages })}\n`);
    phone.close();
    return;
  }
  if (mode === 'call') {
    const target = rest[0] ?? '';
    const calls = Number(rest[1] ?? '1');
    const timeoutMs = Number(rest[2] ?? '15000');
    const message = await phone.message(target, 'hello across NATs', 15_000).catch(() => 0);
    let ok = 0;
    let failed = 0;
    const statuses: Record<string, number> = {};
    const ring: number[] = [];
    const final: number[] = [];
    let firstFailure: string | undefined;
    let slow = 0;
    for (let i = 0; i < calls; i++) {
      const r = await phone.call(target, timeoutMs).catch((e: unknown) => ({ status: 0, ringMs: undefined, finalMs: 0, byeStatus: undefined, finalLine: String(e), byeLine: undefined, recordRoute: [] }));
      statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
      if (r.finalMs > 5_000) slow++;
      if (r.status === 200 && r.byeStatus === 200) {
        ok++;
        if (r.ringMs !== undefined) ring.push(r.ringMs);
        final.push(r.finalMs);
      } else {
        failed++;
        firstFailure ??= `${r.finalLine} / BYE ${r.byeLine ?? '-'}`;
      }
    }
    process.stdout.write(`${JSON.stringify({ registered: reg, message, ok, failed, statuses, ringMsMedian: median(ring), finalMsMedian: median(final), slow, ...(firstFailure === undefined ? {} : { firstFailure }) })}\n`);
    phone.close();
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

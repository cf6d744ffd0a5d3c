/**
 * Conditions on a site's WAN link (the veth between its router and the public bridge):
 * - loss: nftables in the public namespace (`table bridge`, a `numgen random` drop on the site's
 *   bridge port, both directions), which every nf_tables kernel has;
 * - delay and jitter: `tc netem` on both ends of the link. Kernels built without
 *   CONFIG_NET_SCH_NETEM (this project's Firecracker VMs among them) cannot delay packets at all
 *   (no netem, no fq for EDT, no nft queue): asking for a delay there throws WanDelayUnavailableError.
 */
import type { WanConditions } from './lab-types.js';
import type { LabNamespace } from './lab-namespace.js';

/** A delay was asked for and the kernel has no netem qdisc. */
export class WanDelayUnavailableError extends Error {
  readonly code = 'NAT_LAB_NO_NETEM';

  constructor(detail: string) {
    super(`WAN delay needs the kernel's netem qdisc (CONFIG_NET_SCH_NETEM), which this kernel lacks: ${detail}`);
    this.name = 'WanDelayUnavailableError';
  }
}

/** Validates conditions; returns them with defaults filled in. */
export function normalizeWan(cond: WanConditions): Required<WanConditions> {
  const delayMs = cond.delayMs ?? 0;
  const jitterMs = cond.jitterMs ?? 0;
  const lossPercent = cond.lossPercent ?? 0;
  for (const [k, v] of [['delayMs', delayMs], ['jitterMs', jitterMs], ['lossPercent', lossPercent]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${k} must be a finite number >= 0`);
  }
  if (lossPercent > 100) throw new RangeError('lossPercent must be <= 100');
  if (jitterMs > 0 && delayMs === 0) throw new RangeError('jitterMs needs delayMs > 0');
  return { delayMs, jitterMs, lossPercent };
}

/** netem arguments for the delay part; [] when there is no delay. */
export function netemArgs(cond: WanConditions): string[] {
  const { delayMs, jitterMs } = normalizeWan(cond);
  if (delayMs === 0) return [];
  return ['delay', `${delayMs}ms`, ...(jitterMs > 0 ? [`${jitterMs}ms`] : []), 'limit', '10000'];
}

/** Name of the public namespace's table holding one bridge port's loss rules. */
export function lossTableName(port: string): string {
  return `natlab_wan_${port}`;
}

/**
 * nft input that replaces the loss rules of one bridge port (table created, deleted, re-created
 * so it applies whether or not the table exists). No rules when lossPercent is 0.
 */
export function lossRuleset(port: string, lossPercent: number): string {
  const table = `bridge ${lossTableName(port)}`;
  const lines = [`table ${table} {}`, `delete table ${table}`];
  if (lossPercent > 0) {
    // Basis points: 0.01 % resolution.
    const bp = Math.round(lossPercent * 100);
    const p = JSON.stringify(port);
    const match = bp >= 10_000 ? '' : ` numgen random mod 10000 < ${bp}`;
    lines.push(
      `table ${table} {`,
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      `    iifname ${p}${match} drop`,
      `    oifname ${p}${match} drop`,
      '  }',
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** True when `ns` can hold a netem qdisc (tried on its loopback, then removed). */
export async function netemAvailable(ns: LabNamespace): Promise<boolean> {
  const r = await ns.tryRun('tc', ['qdisc', 'replace', 'dev', 'lo', 'root', 'netem', 'delay', '0ms']);
  if (r.code !== 0) return false;
  await ns.tryRun('tc', ['qdisc', 'del', 'dev', 'lo', 'root']);
  return true;
}

/** Applies `cond` to a WAN link: loss on the public bridge port, delay with netem on both ends. */
export async function applyWan(
  cond: WanConditions,
  link: { readonly router: LabNamespace; readonly routerIf: string; readonly publicSide: LabNamespace; readonly publicPort: string },
): Promise<void> {
  const n = normalizeWan(cond);
  const args = netemArgs(n);
  const ends: Array<[LabNamespace, string]> = [
    [link.router, link.routerIf],
    [link.publicSide, link.publicPort],
  ];
  for (const [ns, dev] of ends) {
    if (args.length === 0) {
      await ns.tryRun('tc', ['qdisc', 'del', 'dev', dev, 'root']);
      continue;
    }
    const r = await ns.tryRun('tc', ['qdisc', 'replace', 'dev', dev, 'root', 'netem', ...args]);
    if (r.code !== 0) {
      if (/qdisc kind is unknown/i.test(r.stderr)) throw new WanDelayUnavailableError(r.stderr.trim());
      throw new Error(`tc netem on ${ns.label} ${dev}: ${r.stderr.trim()}`);
    }
  }
  await link.publicSide.run('nft', ['-f', '-'], { input: lossRuleset(link.publicPort, n.lossPercent) });
}

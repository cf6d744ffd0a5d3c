/**
 * Conditions on the lab's WAN: the public segment as a whole (`NatLabSpec.wan`, `lab.setWan`) and
 * each site's WAN link (the veth between its router and the public segment, `site.setWan`).
 *
 * This project's kernels have no `tc netem` (nor fq for EDT, nor nft queue), so delay and jitter are
 * done in userspace: a lab built with a delay (or `segment: 'delay-line'`) has no kernel bridge on its
 * public segment; harness/nat-lab/delay-switch.py (delay-line.ts) switches the frames there instead,
 * each after the segment's delay plus the delay of the site(s) it leaves or enters, with seeded loss
 * and jitter. A lab built without (the default) keeps the kernel bridge br0: site loss is then an
 * nftables `numgen random` drop on the site's bridge port (both directions), and asking for a delay
 * throws WanDelayUnavailableError.
 */
import type { LabNamespace } from './lab-namespace.js';
import type { WanConditions } from './lab-types.js';

/** A delay was asked for on a lab whose public segment is the kernel bridge. */
export class WanDelayUnavailableError extends Error {
  readonly code = 'NAT_LAB_NO_DELAY_LINE';

  constructor(detail: string) {
    super(
      `WAN delay needs the lab's delay line (build it with a WAN delay, e.g. NatLab.builder(scope).wan({ delayMs: 50 }), ` +
        `or with segment: 'delay-line'); this lab's public segment is the kernel bridge: ${detail}`,
    );
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
  if (jitterMs > delayMs) throw new RangeError('jitterMs must be <= delayMs');
  if (delayMs > 10_000) throw new RangeError('delayMs must be <= 10000');
  return { delayMs, jitterMs, lossPercent };
}

/** True when the conditions ask for something at all (validates them too). */
export function hasWanConditions(cond: WanConditions | undefined): cond is WanConditions {
  if (cond === undefined) return false;
  const n = normalizeWan(cond);
  return n.delayMs > 0 || n.lossPercent > 0;
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

/** What sets a port's conditions on the delay line (DelayLine implements it). */
export interface WanPortControl {
  configure(port: string, cond: WanConditions): Promise<void>;
}

/** The public segment's side of a site's WAN link. */
export interface WanLinkEnd {
  readonly publicSide: LabNamespace;
  /** The link's port on the public segment (bridge port or delay-line port). */
  readonly publicPort: string;
  /** The lab's delay line; undefined when the segment is the kernel bridge. */
  readonly delayLine: WanPortControl | undefined;
}

/**
 * Applies `cond` to a site's WAN link: on the delay line (delay, jitter and loss of the port, each
 * direction), else loss on the bridge port with nftables (a delay: WanDelayUnavailableError).
 */
export async function applyWan(cond: WanConditions, link: WanLinkEnd): Promise<void> {
  const n = normalizeWan(cond);
  if (link.delayLine !== undefined) {
    await link.delayLine.configure(link.publicPort, n);
    return;
  }
  if (n.delayMs > 0) throw new WanDelayUnavailableError(`delay of ${n.delayMs} ms asked for port ${link.publicPort}`);
  await link.publicSide.run('nft', ['-f', '-'], { input: lossRuleset(link.publicPort, n.lossPercent) });
}

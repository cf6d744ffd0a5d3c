/**
 * Writing an idle-rss run down: the JSON (bench/results/idle-rss-<date>.json) and the "Idle memory"
 * section of BENCHMARKS.md between its markers.
 */
import type { MachineInfo } from '../sip/system-info.js';
import type { ImportCost, VariantOutcome, VariantResult } from './idle-rss-run.js';
import { IDLE_VARIANTS, failed, mb } from './idle-rss-run.js';

export const IDLE_RSS_SECTION_START = '<!-- idle-rss-bench:start (written by `npm run bench -- idle-rss`; edits here are overwritten) -->';
export const IDLE_RSS_SECTION_END = '<!-- idle-rss-bench:end -->';

export interface IdleRssReport {
  readonly benchmark: 'idle-rss';
  readonly command: string;
  /** What was measured when not this tree's build (`--label`). */
  readonly label: string | undefined;
  readonly machine: MachineInfo;
  readonly startedAt: string;
  readonly wallMs: number;
  readonly settings: { readonly earlyS: number; readonly idleS: number; readonly samples: number; readonly importReps: number };
  readonly load1Before: number;
  readonly load1After: number;
  /** NODE_OPTIONS and NODE_EXTRA_CA_CERTS as the children inherited them (both change what node loads). */
  readonly nodeEnv: { readonly NODE_OPTIONS: string | undefined; readonly NODE_EXTRA_CA_CERTS: boolean };
  readonly emptyNode: VariantResult | undefined;
  readonly variants: readonly VariantOutcome[];
  readonly imports: readonly ImportCost[];
  /** npm packages the `loopback` peer has loaded once ready. */
  readonly loadedAtStart: readonly string[];
}

/** Packages whose loading is decided by the configuration (see docs/architecture.md, "Idle memory"). */
const WATCHED = ['lmdb', 'pino', 'pino-pretty', 'commander', 'prom-client', 'multicast-dns', 'sdp-transform', 'ws', 'fast-xml-parser', 'werift-dtls', '@peculiar/x509', 'reflect-metadata', 'tsyringe'];

export function renderIdleRssSection(report: IdleRssReport, jsonPath: string, before: IdleRssReport | undefined, beforePath: string | undefined): string {
  const { machine: m, settings: s } = report;
  const L: string[] = [];
  L.push('## Idle memory of a peer (RSS)');
  L.push('');
  L.push(`Run ${report.startedAt} with \`${report.command}\` (${Math.round(report.wallMs / 1000)} s)${report.label === undefined ? '' : ` on ${report.label}`}; raw data: \`${jsonPath}\`.`);
  L.push('');
  L.push(
    `Machine: ${m.nproc} cores (\`nproc\`), ${m.cpuModel}, Linux ${m.kernel}, node ${m.node}; NODE_OPTIONS ${report.nodeEnv.NODE_OPTIONS ?? 'unset'}, ` +
      `NODE_EXTRA_CA_CERTS ${report.nodeEnv.NODE_EXTRA_CA_CERTS ? 'set (node reads that CA file at start)' : 'unset'}. Load average (1 min) ${report.load1Before.toFixed(2)} before, ${report.load1After.toFixed(2)} after.`,
  );
  L.push('');
  L.push(
    `Method: each row starts \`node dist/src/cli/main.js up\` as a child process with a temporary data directory, SIP and HTTP on loopback ` +
      `ports and \`--outbound none\`; the rest is the row's. Rows other than first-start start the peer once before (stopped when ready), so the ` +
      `measured start finds its identity, as every start after a peer's first does. Readings come from /proc/<pid>/smaps_rollup and ` +
      `/proc/<pid>/smaps: one ${s.earlyS} s after the ready line ("SIP front listening"), then ${s.samples} one second apart ending ${s.idleS} s after it; ` +
      `the table gives the sample with the median RSS. After the samples the peer's own /metrics gives V8's heap. MB = 2^20 bytes.`,
  );
  L.push('');
  for (const v of IDLE_VARIANTS) L.push(`- ${v.name}: ${v.about}.`);
  L.push('- node: an empty program (`node -e "setInterval(() => {}, 1000)"`): node itself.');
  L.push('');
  L.push(
    `| row | ready after s | RSS at ${s.earlyS} s | RSS idle (${s.idleS} s) | anonymous | file-backed: node binary / libraries + addons / other | malloc heap | other anonymous | USS | PSS | V8 heap used / total (new space) | external | threads |`,
  );
  L.push('|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---:|');
  const rows: VariantOutcome[] = report.emptyNode === undefined ? [...report.variants] : [...report.variants, report.emptyNode];
  for (const r of rows) {
    if (failed(r)) {
      L.push(`| ${r.variant} | failed: ${r.error.split('\n')[0]} |  |  |  |  |  |  |  |  |  |  |  |`);
      continue;
    }
    const i = r.idle;
    const heap = r.v8 === undefined ? '–' : `${bytesMb(r.v8.heapUsed)} / ${bytesMb(r.v8.heapTotal)}${r.v8.newSpaceSize === undefined ? '' : ` (${bytesMb(r.v8.newSpaceSize)})`}`;
    L.push(
      `| ${r.variant} | ${(r.readyMs / 1000).toFixed(2)} | ${mb(r.early.rssKb)} | **${mb(i.rssKb)}** | ${mb(i.anonKb)} | ${mb(i.nodeBinaryKb)} / ${mb(i.sharedLibsKb + i.addonsKb)} / ${mb(i.otherFilesKb)} | ` +
        `${mb(i.mallocHeapKb)} | ${mb(i.otherAnonKb)} | ${mb(i.ussKb)} | ${mb(i.pssKb)} | ${heap} | ${r.v8 === undefined ? '–' : bytesMb(r.v8.external)} | ${i.threads} |`,
    );
  }
  L.push('');
  L.push(
    'USS (unique set) is what one more peer costs the machine: the file-backed pages of node and its libraries are shared with every other ' +
      'node process. PSS divides the shared pages among the processes mapping them, so it depends on what else runs.',
  );
  if (before !== undefined) {
    L.push('');
    L.push(`Before and after (the earlier run: ${before.startedAt}${before.label === undefined ? '' : `, ${before.label}`}, \`${beforePath ?? '?'}\`), MB:`);
    L.push('');
    L.push(`| row | RSS at ${s.earlyS} s before → after | RSS idle before → after | USS idle before → after | V8 heap used before → after | ready after s before → after |`);
    L.push('|---|---|---|---|---|---|');
    for (const r of rows) {
      const b = before.variants.find((x) => x.variant === r.variant) ?? (r.variant === 'node' ? before.emptyNode : undefined);
      if (b === undefined || failed(b) || failed(r)) continue;
      const heap = b.v8 === undefined || r.v8 === undefined ? '–' : `${bytesMb(b.v8.heapUsed)} → ${bytesMb(r.v8.heapUsed)}`;
      L.push(
        `| ${r.variant} | ${mb(b.early.rssKb)} → ${mb(r.early.rssKb)} | ${mb(b.idle.rssKb)} → **${mb(r.idle.rssKb)}** | ${mb(b.idle.ussKb)} → ${mb(r.idle.ussKb)} | ${heap} | ` +
          `${(b.readyMs / 1000).toFixed(2)} → ${(r.readyMs / 1000).toFixed(2)} |`,
      );
    }
  }
  if (report.imports.length > 0) {
    const base = report.imports[0]!;
    L.push('');
    L.push(
      `What each module costs when imported alone into a fresh \`node --expose-gc\` that then idles ${s.idleS} s, as the peers above do before their ` +
        `idle readings, and collects its garbage (two full GCs, so that "heap used" is what the module keeps); all modules at once, each in its own ` +
        `process; ${s.importReps === 1 ? 'one round' : `median of ${s.importReps} rounds`}. Δ is over "nothing". Δ heap used is the steady part; ` +
        `Δ RSS also holds whatever young generation and malloc arenas the loading left (V8 gives the young generation back only when its ` +
        `memory reducer runs, which an idle process may or may not do within the wait). Modules share code, data and node's own built-in ` +
        `modules (file-backed pages of the node binary), so the Δs of a peer's modules add up to more than the peer's whole. ` +
        `"Loaded" says whether the loopback peer of this build has loaded the package once it is ready.`,
    );
    L.push('');
    L.push('| module | RSS MB | Δ RSS | Δ anonymous | Δ file-backed | V8 heap used MB | Δ heap used | loaded |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---|');
    for (const c of report.imports) {
      if (c.error !== undefined) {
        L.push(`| ${c.label} | failed: ${c.error} |  |  |  |  |  |  |`);
        continue;
      }
      const pkg = c.specifiers.length === 0 || c.specifiers[0]!.startsWith('dist/') ? undefined : packageOf(c.specifiers[c.specifiers.length - 1]!);
      const loaded = pkg === undefined ? '' : report.loadedAtStart.includes(pkg) ? 'yes' : 'no';
      L.push(
        `| ${c.label} | ${mb(c.rssKb)} | ${c === base ? '' : `+${mb(c.rssKb - base.rssKb)}`} | ${c === base ? '' : `+${mb(c.anonKb - base.anonKb)}`} | ${c === base ? '' : `+${mb(c.fileKb - base.fileKb)}`} | ` +
          `${bytesMb(c.heapUsed)} | ${c === base ? '' : `+${bytesMb(c.heapUsed - base.heapUsed)}`} | ${loaded} |`,
      );
    }
  }
  if (report.loadedAtStart.length > 0) {
    const watched = WATCHED.filter((p) => report.loadedAtStart.includes(p));
    const notLoaded = WATCHED.filter((p) => !report.loadedAtStart.includes(p));
    L.push('');
    L.push(
      `Packages the loopback peer has loaded once ready: ${report.loadedAtStart.length} in all; of those named above, ${watched.join(', ') || 'none'}; ` +
        `not loaded: ${notLoaded.join(', ') || 'none'}.`,
    );
  }
  L.push('');
  L.push(
    'Noise: RSS moves by a few hundred kB to a few MB between runs (timers, the GC, which pages the kernel maps in with a fault). ' +
      `The reading at ${s.earlyS} s still holds the young generation V8 grew while loading modules; V8's memory reducer gives it back ` +
      'once the process has been idle for a while (about 20 s here), which is why the idle readings are taken later. Whether it has run ' +
      'shows in the new-space figure (1–4 MB once it has, 16–32 MB before), and it only runs when the process allocates little: an idle ' +
      'peer that allocates steadily keeps its young generation. What it all consists of, and what is left: docs/architecture.md, "Idle memory".',
  );
  return L.join('\n');
}

function bytesMb(n: number): string {
  return (n / 1048576).toFixed(1);
}

/** The package name of a bare specifier ('@scope/name/deep/path' → '@scope/name'). */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

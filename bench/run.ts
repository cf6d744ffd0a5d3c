/**
 * Benchmark entry point: `npm run bench -- <name> [options]` (the npm script builds first).
 * Each benchmark is one entry of BENCHMARKS below.
 */
import { codecCommand, CODEC_USAGE } from './codec/codec-bench.js';
import { sipCommand, SIP_USAGE } from './sip/sip-command.js';
import { overlayCommand, OVERLAY_USAGE } from './overlay/overlay-bench.js';
import { putgetCommand, PUTGET_USAGE } from './putget/putget-bench.js';
import { callsCommand, CALLS_USAGE } from './calls/calls-command.js';
import { natCommand, NAT_USAGE } from './nat/nat-command.js';
import { mediaCommand, MEDIA_USAGE } from './media/media-command.js';
import { idleRssCommand, IDLE_RSS_USAGE } from './idle-rss.js';
import { shutdownCommand, SHUTDOWN_USAGE } from './shutdown/shutdown-command.js';
import { memoryCommand, MEMORY_USAGE } from './memory/memory-command.js';
import { presenceCommand, PRESENCE_USAGE } from './presence/presence-command.js';
import { capacityCommand, CAPACITY_USAGE } from './capacity/capacity-command.js';
import { overlayTradeCommand, OVERLAY_TRADE_USAGE } from './overlay/overlay-trade.js';

type BenchCommand = (argv: readonly string[]) => Promise<number>;

const BENCHMARKS: Readonly<Record<string, { readonly run: BenchCommand; readonly usage: string }>> = {
  sip: { run: sipCommand, usage: SIP_USAGE },
  codec: { run: codecCommand, usage: CODEC_USAGE },
  overlay: { run: (argv) => overlayCommand(argv), usage: OVERLAY_USAGE },
  putget: { run: putgetCommand, usage: PUTGET_USAGE },
  calls: { run: callsCommand, usage: CALLS_USAGE },
  nat: { run: natCommand, usage: NAT_USAGE },
  media: { run: mediaCommand, usage: MEDIA_USAGE },
  'idle-rss': { run: idleRssCommand, usage: IDLE_RSS_USAGE },
  shutdown: { run: shutdownCommand, usage: SHUTDOWN_USAGE },
  memory: { run: memoryCommand, usage: MEMORY_USAGE },
  presence: { run: presenceCommand, usage: PRESENCE_USAGE },
  capacity: { run: capacityCommand, usage: CAPACITY_USAGE },
  'overlay-trade': { run: (argv) => overlayTradeCommand(argv), usage: OVERLAY_TRADE_USAGE },
};

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const bench = name === undefined ? undefined : BENCHMARKS[name];
  if (bench === undefined) {
    process.stderr.write(
      `usage: npm run bench -- <benchmark> [options]\nbenchmarks:\n${Object.values(BENCHMARKS)
        .map((b) => `  ${b.usage}`)
        .join('\n')}\n`,
    );
    return 2;
  }
  return bench.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);

/**
 * `npm run fuzz`: the SIP message fuzzer (scripts/fuzz-sip.ts), the RELOAD codec and link fuzzer
 * (scripts/fuzz-reload.ts) and the HTTP API fuzzer (scripts/fuzz-http.ts: raw requests to a real
 * server on loopback). Exit 1 when any found a failure.
 *
 * Usage: node --import tsx scripts/fuzz.ts [--count N] [--seed S] [--only sip|reload|http]
 * Defaults: seed 1, all three; N = 1,000,000 for sip and reload, 400,000 for http (each HTTP input is
 * a TCP connection: about a minute).
 */
import { fuzzHttp, DEFAULT_HTTP_FUZZ_COUNT } from './fuzz-http.js';
import { fuzzReload } from './fuzz-reload.js';
import { fuzzSip } from './fuzz-sip.js';

type Only = 'sip' | 'reload' | 'http';
const ONLY: readonly string[] = ['sip', 'reload', 'http'];

function args(): { count: number | undefined; seed: number; only: Only | undefined } {
  const a = process.argv.slice(2);
  let count: number | undefined;
  let seed = 1;
  let only: Only | undefined;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--count') count = Number(a[++i]);
    else if (a[i] === '--seed') seed = Number(a[++i]);
    else if (a[i] === '--only' && ONLY.includes(a[i + 1] ?? '')) only = a[++i] as Only;
    else {
      console.error(`unknown argument ${a[i]}`);
      process.exit(2);
    }
  }
  if ((count !== undefined && (!Number.isSafeInteger(count) || count < 0)) || !Number.isSafeInteger(seed)) {
    console.error('usage: fuzz.ts [--count N] [--seed S] [--only sip|reload|http]');
    process.exit(2);
  }
  return { count, seed, only };
}

const { count, seed, only } = args();
const started = Date.now();
let ok = true;
if (only === undefined || only === 'sip') ok = fuzzSip(count ?? 1_000_000, seed) && ok;
if (only === undefined || only === 'reload') ok = fuzzReload(count ?? 1_000_000, seed) && ok;
if (only === undefined || only === 'http') ok = (await fuzzHttp(count ?? DEFAULT_HTTP_FUZZ_COUNT, seed)) && ok;
console.log(`fuzz: ${ok ? 'no failures' : 'FAILURES'}, ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
process.exit(ok ? 0 : 1);

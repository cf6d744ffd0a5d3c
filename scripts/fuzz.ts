/**
 * `npm run fuzz`: the SIP message fuzzer (scripts/fuzz-sip.ts) and the RELOAD codec and link fuzzer
 * (scripts/fuzz-reload.ts), each with N inputs. Exit 1 when either found a failure.
 *
 * Usage: node --import tsx scripts/fuzz.ts [--count N] [--seed S] [--only sip|reload]   (defaults 1000000, 1, both)
 */
import { fuzzReload } from './fuzz-reload.js';
import { fuzzSip } from './fuzz-sip.js';

function args(): { count: number; seed: number; only: 'sip' | 'reload' | undefined } {
  const a = process.argv.slice(2);
  let count = 1_000_000;
  let seed = 1;
  let only: 'sip' | 'reload' | undefined;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--count') count = Number(a[++i]);
    else if (a[i] === '--seed') seed = Number(a[++i]);
    else if (a[i] === '--only' && (a[i + 1] === 'sip' || a[i + 1] === 'reload')) only = a[++i] as 'sip' | 'reload';
    else {
      console.error(`unknown argument ${a[i]}`);
      process.exit(2);
    }
  }
  if (!Number.isSafeInteger(count) || count < 0 || !Number.isSafeInteger(seed)) {
    console.error('usage: fuzz.ts [--count N] [--seed S] [--only sip|reload]');
    process.exit(2);
  }
  return { count, seed, only };
}

const { count, seed, only } = args();
const started = Date.now();
let ok = true;
if (only !== 'reload') ok = fuzzSip(count, seed) && ok;
if (only !== 'sip') ok = fuzzReload(count, seed) && ok;
console.log(`fuzz: ${ok ? 'no failures' : 'FAILURES'}, ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
process.exit(ok ? 0 : 1);

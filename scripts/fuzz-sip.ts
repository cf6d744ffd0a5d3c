/**
 * Fuzzer of the SIP message layer: random bytes and mutations (bit flips, byte insert/delete,
 * interesting bytes, line duplication, truncation, header splicing) of the torture corpus and of
 * generated valid messages go through parseMessage (datagram and stream modes) and the header
 * parsers. Fails on any exception other than SipParseError escaping a header parser, any
 * exception at all escaping parseMessage, a parsed message that does not survive
 * serialise → parse, an error response without a readable top Via, or a single call slower
 * than 100 ms.
 *
 * Run by scripts/fuzz.ts (`npm run fuzz`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { SeededRandom } from '../src/lib/random.js';
import { TextMutator } from './fuzz-text-mutator.js';
import {
  parseContact,
  parseContentLength,
  parseContentType,
  parseCSeq,
  parseDeltaSeconds,
  parseMaxForwards,
  parseMessage,
  parseNameAddr,
  parseNameAddrList,
  parseTokenList,
  parseUri,
  parseVia,
  serializeMessage,
  SipParseError,
  topVia,
  unescape,
} from '../src/sip/message/index.js';
import { message as messageArb } from '../test/unit/sip/message/arbitraries.js';

const MAX_INPUT = 70_000;
const SLOW_MS = 100;

function corpusFiles(dir: string, out: Buffer[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) corpusFiles(p, out);
    else if (name.endsWith('.sip') || dir.endsWith('archive')) out.push(readFileSync(p));
  }
}

const INTERESTING = Buffer.from(' \t\r\n:;,<>"\\%[]@=?&/0912*.-+~\x00\x7f\xff\xc3');

const HEADER_PARSERS: ReadonlyArray<readonly [string, (v: string) => unknown]> = [
  ['parseVia', parseVia],
  ['parseNameAddr', (v) => parseNameAddr(v)],
  ['parseNameAddrList', (v) => parseNameAddrList(v)],
  ['parseContact', parseContact],
  ['parseUri', parseUri],
  ['parseCSeq', parseCSeq],
  ['parseMaxForwards', parseMaxForwards],
  ['parseDeltaSeconds', (v) => parseDeltaSeconds(v)],
  ['parseContentLength', parseContentLength],
  ['parseTokenList', (v) => parseTokenList(v)],
  ['parseContentType', parseContentType],
  ['unescape', unescape],
];

interface Failure {
  what: string;
  error: string;
  input: string;
}

/** Runs `count` SIP inputs from `seed`; prints a summary and failures; true when none failed. */
export function fuzzSip(count: number, seed: number): boolean {
  const started = Date.now();
  const root = fileURLToPath(new URL('..', import.meta.url));
  const corpus: Buffer[] = [];
  corpusFiles(join(root, 'test/fixtures/torture'), corpus);
  const torture = corpus.length;
  for (const m of fc.sample(messageArb, { numRuns: 300, seed })) corpus.push(serializeMessage(m));
  const r = new SeededRandom(seed);
  const mut = new TextMutator(r, { interesting: INTERESTING, maxInput: MAX_INPUT, maxRandomLength: 3000, maxRepeat: 400, rounds: 'many' });
  const failures: Failure[] = [];
  let parses = 0;
  let accepted = 0;
  let answered = 0;
  let headerCalls = 0;
  let slowest = 0;
  let slowestWhat = '';

  const once = (fn: () => void): number => {
    const t0 = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const timed = (what: string, input: Buffer | string, fn: () => void): void => {
    let ms: number;
    try {
      ms = once(fn);
      // a slow call is timed again: GC pauses and a loaded machine are not the parser's fault,
      // a call that is slow every time is
      for (let k = 0; k < 3 && ms > SLOW_MS / 4; k++) ms = Math.min(ms, once(fn));
    } catch (e) {
      failures.push({ what, error: e instanceof Error ? (e.stack ?? e.message) : String(e), input: Buffer.from(input).toString('base64') });
      return;
    }
    if (ms > slowest) {
      slowest = ms;
      slowestWhat = `${what} (${input.length} bytes)`;
    }
    if (ms > SLOW_MS) failures.push({ what: `${what} took ${ms.toFixed(1)} ms`, error: 'too slow', input: Buffer.from(input).toString('base64') });
  };

  for (let i = 0; i < count && failures.length < 20; i++) {
    const input = mut.int(20) === 0 ? mut.randomBytes() : mut.mutate(mut.pick(corpus), corpus);
    for (const datagram of [true, false]) {
      let counted = false;
      timed(`parseMessage(datagram=${datagram})`, input, () => {
        const res = parseMessage(input, { datagram });
        if (!counted) parses++;
        if (res.ok) {
          if (!counted) accepted++;
          // a parsed message survives serialise → parse
          const again = parseMessage(serializeMessage(res.message), { datagram: false });
          if (!again.ok) throw new Error(`re-parse failed: ${again.error.message}`);
        } else if (res.response !== undefined) {
          if (!counted) answered++;
          // the answer can be sent: it serialises and its top Via (where it goes) reads
          serializeMessage(res.response);
          topVia(res.response);
        }
        counted = true;
      });
    }
    // header parsers on a mutated header value
    const text = input.toString('utf8');
    const lines = text.split('\n');
    const line = lines[mut.int(lines.length)] ?? '';
    const colon = line.indexOf(':');
    const value = (colon >= 0 ? line.slice(colon + 1) : line).slice(0, 10_000);
    const [name, parser] = mut.pick(HEADER_PARSERS);
    headerCalls++;
    timed(name, value, () => {
      try {
        parser(value);
      } catch (e) {
        if (!(e instanceof SipParseError)) throw e;
      }
    });
  }

  const wall = (Date.now() - started) / 1000;
  console.log(
    `fuzz sip: seed ${seed}, ${count} inputs (${torture} torture + 300 generated seeds), ${parses} parseMessage calls ` +
      `(${accepted} accepted, ${answered} answered with an error response), ${headerCalls} header-parser calls, ` +
      `slowest call ${slowest.toFixed(2)} ms [${slowestWhat}] (min of up to 4 timings), ${failures.length} failures, ${wall.toFixed(1)} s`,
  );
  for (const f of failures.slice(0, 5)) console.error(`FAIL ${f.what}: ${f.error}\n  input (base64): ${f.input}`);
  return failures.length === 0;
}

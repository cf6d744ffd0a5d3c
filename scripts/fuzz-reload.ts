/**
 * Fuzzer of the RELOAD wire codec and the overlay link receive path (RFC 6940 §6.3, §6.6.2): random
 * bytes and mutations (bit flips, interesting bytes, inserts, deletes, truncation, length-field edits,
 * splices, repeats) of valid encoded messages of every method, of framed data and ACK frames, and of
 * every method body go through decodeFramedMessage, FramedStreamDecoder (arbitrary chunking),
 * decodeReloadMessage / decodeReloadPdu, every body decoder, and LinkLayer's receive path (a fake
 * driver, ManualClock). Fails on any exception escaping a never-throw entry point (or anything but a
 * CodecError from the throwing decoders), a decoded message that does not re-encode and decode, a
 * stream decoder holding more than one frame's bytes, a single call slower than 100 ms, or a heap
 * above 1 GiB at the end.
 */
import fc from 'fast-check';
import { ManualClock } from '../src/lib/manual-clock.js';
import { SeededRandom } from '../src/lib/random.js';
import * as codec from '../src/reload/codec/index.js';
import { CodecError, DEFAULT_MAX_MESSAGE_SIZE, FramedStreamDecoder, MessageCode } from '../src/reload/codec/index.js';
import type { BodyCodecOptions, DecodeResult } from '../src/reload/codec/index.js';
import { LinkLayer } from '../src/reload/link/index.js';
import type { DriverLink, LinkDriver, LinkDriverUser, LinkEndpoint } from '../src/reload/link/index.js';
import { Mutator, chunking, concat } from './fuzz-byte-mutator.js';
import { errorResponse, forwardingHeader, reloadMessage, securityBlock } from '../test/unit/reload/codec/arbitraries.js';
import * as m from '../test/unit/reload/codec/method-arbitraries.js';

const SLOW_MS = 100;
const MAX_HEAP = 1024 * 1024 * 1024;
const OPTS: BodyCodecOptions = { dataModelOf: m.dataModelOf };

type Decoder = (b: Uint8Array) => unknown;
interface BodyKind {
  name: string;
  code: number;
  samples: Uint8Array[];
  decode: Decoder;
  /** A decoder documented to throw CodecError (the rest return a DecodeResult). */
  throws?: boolean;
}

function body<T>(name: string, code: number, arb: fc.Arbitrary<T>, encode: (v: T, o: BodyCodecOptions) => Uint8Array, decode: Decoder, seed: number): BodyKind {
  const samples = fc.sample(arb, { numRuns: 40, seed }).map((v) => encode(v, OPTS));
  return { name, code, samples, decode };
}

function bodyKinds(seed: number): BodyKind[] {
  const C = MessageCode;
  return [
    body('PingReq', C.ping_req, m.pingReq, codec.encodePingReq, (b) => codec.decodePingReq(b), seed),
    body('PingAns', C.ping_ans, m.pingAns, codec.encodePingAns, (b) => codec.decodePingAns(b), seed),
    body('ProbeReq', C.probe_req, m.probeReq, codec.encodeProbeReq, (b) => codec.decodeProbeReq(b), seed),
    body('ProbeAns', C.probe_ans, m.probeAns, codec.encodeProbeAns, (b) => codec.decodeProbeAns(b), seed),
    body('AttachReq', C.attach_req, m.attachReqAns, codec.encodeAttachReqAns, (b) => codec.decodeAttachReqAns(b), seed),
    body('AttachAns', C.attach_ans, m.attachReqAns, codec.encodeAttachReqAns, (b) => codec.decodeAttachReqAns(b), seed + 1),
    body('AppAttachReq', C.app_attach_req, m.appAttachReqAns, codec.encodeAppAttachReqAns, (b) => codec.decodeAppAttachReqAns(b), seed),
    body('AppAttachAns', C.app_attach_ans, m.appAttachReqAns, codec.encodeAppAttachReqAns, (b) => codec.decodeAppAttachReqAns(b), seed + 1),
    body('ConfigUpdateReq', C.config_update_req, m.configUpdateReq, codec.encodeConfigUpdateReq, (b) => codec.decodeConfigUpdateReq(b), seed),
    body('StoreReq', C.store_req, m.storeReq, codec.encodeStoreReq, (b) => codec.decodeStoreReq(b, OPTS), seed),
    body('StoreAns', C.store_ans, m.storeAns, codec.encodeStoreAns, (b) => codec.decodeStoreAns(b, OPTS), seed),
    body('FetchReq', C.fetch_req, m.fetchReq, codec.encodeFetchReq, (b) => codec.decodeFetchReq(b, OPTS), seed),
    body('FetchAns', C.fetch_ans, m.fetchAns, codec.encodeFetchAns, (b) => codec.decodeFetchAns(b, OPTS), seed),
    body('StatReq', C.stat_req, m.fetchReq, codec.encodeStatReq, (b) => codec.decodeStatReq(b, OPTS), seed + 1),
    body('StatAns', C.stat_ans, m.statAns, codec.encodeStatAns, (b) => codec.decodeStatAns(b, OPTS), seed),
    body('FindReq', C.find_req, m.findReq, codec.encodeFindReq, (b) => codec.decodeFindReq(b), seed),
    body('FindAns', C.find_ans, m.findAns, codec.encodeFindAns, (b) => codec.decodeFindAns(b), seed),
    body('JoinReq', C.join_req, m.joinReq, codec.encodeJoinReq, (b) => codec.decodeJoinReq(b), seed),
    body('JoinAns', C.join_ans, m.joinAns, codec.encodeJoinAns, (b) => codec.decodeJoinAns(b), seed),
    body('LeaveReq', C.leave_req, m.leaveReq, codec.encodeLeaveReq, (b) => codec.decodeLeaveReq(b), seed),
    body('RouteQueryReq', C.route_query_req, m.routeQueryReq, codec.encodeRouteQueryReq, (b) => codec.decodeRouteQueryReq(b), seed),
    body('ChordUpdate', C.update_req, m.chordUpdate, codec.encodeChordUpdate, (b) => codec.decodeChordUpdate(b), seed),
    body('ChordLeaveData', C.leave_req, m.chordLeaveData, codec.encodeChordLeaveData, (b) => codec.decodeChordLeaveData(b), seed),
    body('ChordRouteQueryAns', C.route_query_ans, m.chordRouteQueryAns, codec.encodeChordRouteQueryAns, (b) => codec.decodeChordRouteQueryAns(b), seed),
    body('SipRegistration', C.store_req, m.sipRegistration, codec.encodeSipRegistration, (b) => codec.decodeSipRegistration(b), seed),
    { ...body('ErrorResponse', C.error, errorResponse, (v) => codec.encodeErrorResponse(v), (b) => codec.decodeErrorResponse(b), seed), throws: true },
    body('EmptyBody', C.leave_ans, fc.constant({}), () => codec.encodeEmptyBody(), (b) => codec.decodeEmptyBody('LeaveAns', b), seed),
  ];
}

/** A LinkDriver that only records: the fuzzer feeds onLinkData itself. */
class FeedDriver implements LinkDriver {
  user: LinkDriverUser | undefined;
  closed = 0;
  written = 0;
  setUser(u: LinkDriverUser): void {
    this.user = u;
  }
  listen(host: string, port: number): Promise<LinkEndpoint> {
    return Promise.resolve({ host, port });
  }
  connect(): string {
    return 'never';
  }
  write(_id: string, data: Uint8Array): void {
    this.written += data.length;
  }
  close(): void {
    this.closed++;
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

interface Failure {
  what: string;
  error: string;
  input: string;
}

/** Runs `count` RELOAD inputs from `seed`; prints a summary and failures; true when none failed. */
export function fuzzReload(count: number, seed: number): boolean {
  const started = Date.now();
  const kinds = bodyKinds(seed);
  // Whole messages: generated ones, and ones whose body is a valid body of its method.
  const headers = fc.sample(forwardingHeader(16), { numRuns: 200, seed });
  const blocks = fc.sample(securityBlock, { numRuns: 50, seed });
  const messages: Uint8Array[] = fc.sample(reloadMessage(16), { numRuns: 200, seed }).flatMap((msg) => {
    try {
      return [codec.encodeReloadMessage(msg)];
    } catch {
      return []; // bigger than max-message-size
    }
  });
  const r = new SeededRandom(seed);
  const mut = new Mutator(r);
  for (const k of kinds) {
    for (const b of k.samples) {
      const h = headers[mut.int(headers.length)]!;
      try {
        messages.push(
          codec.encodeReloadMessage({
            header: { ...h, fragment: { last: true, offset: 0 }, length: 0 },
            contents: { messageCode: k.code, body: b, extensions: [] },
            securityBlock: blocks[mut.int(blocks.length)]!,
          }),
        );
      } catch {
        // too big
      }
    }
  }
  const frames: Uint8Array[] = [];
  for (let i = 0; i < messages.length; i++) {
    frames.push(codec.encodeFramedMessage({ type: 'data', sequence: r.u32(), message: messages[i]! }));
    frames.push(codec.encodeFramedMessage({ type: 'ack', ackSequence: r.u32(), received: r.u32() }));
  }
  const corpus = [...messages, ...frames, ...kinds.flatMap((k) => k.samples)];

  const clock = new ManualClock();
  const driver = new FeedDriver();
  const layer = new LinkLayer({ driver, clock });
  let downs = 0;
  layer.setUser({ onLinkUp: () => {}, onLinkMessage: () => {}, onLinkDown: () => downs++ });
  let linkNo = 0;
  const newLink = (): string => {
    const l: DriverLink = { id: `f${linkNo++}`, local: { host: '127.0.0.1', port: 1 }, remote: { host: '127.0.0.1', port: 2 }, outbound: false };
    driver.user!.onLinkOpened(l);
    return l.id;
  };

  const failures: Failure[] = [];
  const calls: Record<string, number> = {};
  const spent: Record<string, number> = {};
  let decodedOk = 0;
  let slowest = 0;
  let slowestWhat = '';
  const once = (fn: () => void): number => {
    const t0 = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const timed = (what: string, input: Uint8Array, fn: () => void): void => {
    calls[what] = (calls[what] ?? 0) + 1;
    let ms: number;
    try {
      ms = once(fn);
      // a slow call is timed again (GC pauses are not the decoder's fault, a call slow every time is)
      for (let k = 0; k < 3 && ms > SLOW_MS / 4; k++) ms = Math.min(ms, once(fn));
    } catch (e) {
      failures.push({ what, error: e instanceof Error ? (e.stack ?? e.message) : String(e), input: Buffer.from(input).toString('base64') });
      return;
    }
    spent[what] = (spent[what] ?? 0) + ms;
    if (ms > slowest) {
      slowest = ms;
      slowestWhat = `${what} (${input.length} bytes)`;
    }
    if (ms > SLOW_MS) failures.push({ what: `${what} took ${ms.toFixed(1)} ms`, error: 'too slow', input: Buffer.from(input).toString('base64') });
  };
  const neverThrows = (res: DecodeResult<unknown>, count = true): void => {
    if (res.ok) {
      if (count) decodedOk++;
    } else if (!(res.error instanceof CodecError)) throw new Error('error result that is not a CodecError');
  };
  const onlyCodecError = (fn: () => unknown): void => {
    try {
      fn();
      decodedOk++;
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
    }
  };

  for (let i = 0; i < count && failures.length < 20; i++) {
    const target = i % 5;
    const input = mut.int(16) === 0 ? mut.randomBytes() : mut.mutate(target === 0 ? mut.pick(frames) : mut.pick(corpus), corpus);
    switch (target) {
      case 0:
        timed('decodeFramedMessage', input, () => neverThrows(codec.decodeFramedMessage(input)));
        break;
      case 1:
        timed('decodeReloadMessage', input, () => {
          const res = codec.decodeReloadMessage(input);
          neverThrows(res);
          if (res.ok) {
            const again = codec.decodeReloadMessage(codec.encodeReloadMessage(res.value));
            if (!again.ok) throw new Error(`re-decode failed: ${again.error.message}`);
          }
        });
        timed('decodeReloadPdu', input, () => neverThrows(codec.decodeReloadPdu(input)));
        break;
      case 2: {
        const k = mut.pick(kinds);
        const b = mut.int(16) === 0 ? mut.randomBytes() : mut.mutate(mut.pick(k.samples), k.samples);
        timed(`decode ${k.name}`, b, () => {
          if (k.throws === true) onlyCodecError(() => k.decode(b));
          else neverThrows(k.decode(b) as DecodeResult<unknown>);
        });
        const part = mut.pick([codec.decodeForwardingHeader, codec.decodeMessageContents, codec.decodeSecurityBlock]);
        timed(part.name, input, () => onlyCodecError(() => part(input)));
        break;
      }
      case 3: {
        // a stream of valid and mutated frames, cut at random places (the cuts fixed before timing: replays are identical)
        const parts: Uint8Array[] = [];
        for (let n = 1 + mut.int(4); n > 0; n--) parts.push(mut.int(3) === 0 ? mut.mutate(mut.pick(frames), corpus) : mut.pick(frames));
        const stream = concat(...parts);
        const cuts = chunking(mut, stream.length, mut.int(2) === 0 ? 16 : 2000);
        timed('FramedStreamDecoder', stream, () => {
          const dec = new FramedStreamDecoder();
          let at = 0;
          for (const step of cuts) {
            const res = dec.push(stream.subarray(at, at + step));
            at += step;
            neverThrows(res, false);
            if (dec.buffered > DEFAULT_MAX_MESSAGE_SIZE + codec.DATA_FRAME_OVERHEAD) throw new Error(`decoder holds ${dec.buffered} bytes`);
            if (!res.ok) break;
          }
        });
        break;
      }
      default: {
        // the link layer's receive path: a mutated stream into a fresh link, in random chunks
        const stream = mut.int(2) === 0 ? input : concat(mut.pick(frames), input);
        const cuts = chunking(mut, stream.length, 1500);
        timed('LinkLayer receive', stream, () => {
          const id = newLink();
          let at = 0;
          for (const step of cuts) {
            driver.user!.onLinkData(id, stream.subarray(at, at + step));
            at += step;
            if (layer.stats(id) === undefined) break;
          }
          if (layer.stats(id) !== undefined) {
            layer.close(id);
            driver.user!.onLinkClosed(id, undefined);
          }
        });
        if (mut.int(8) === 0) clock.advance(mut.int(40_000)); // keepalive and ACK timers of the links
      }
    }
  }

  const heap = process.memoryUsage().heapUsed;
  if (heap > MAX_HEAP) failures.push({ what: 'memory', error: `heap ${heap} bytes after the run`, input: '' });
  const wall = (Date.now() - started) / 1000;
  const group = (k: string): string => (k.startsWith('decode ') ? 'body decoders' : k);
  const totals = new Map<string, { n: number; ms: number }>();
  for (const [k, v] of Object.entries(calls)) {
    const t = totals.get(group(k)) ?? { n: 0, ms: 0 };
    t.n += v;
    t.ms += spent[k] ?? 0;
    totals.set(group(k), t);
  }
  const perCall = [...totals].map(([k, t]) => `${k} ${t.n} (${(t.ms / 1000).toFixed(1)} s)`).join(', ');
  console.log(
    `fuzz reload: seed ${seed}, ${count} inputs from ${corpus.length} seeds (${messages.length} messages of ${kinds.length} body types, ${frames.length} frames); ` +
      `calls: ${perCall}; ${decodedOk} decoded ok; link layer: ${linkNo} links, ${layer.totals().protocolErrors} closed on a protocol error, ${downs} down events, ${layer.linkIds().length} left open; ` +
      `slowest call ${slowest.toFixed(2)} ms [${slowestWhat}]; heap ${(heap / 1048576).toFixed(0)} MiB; ${failures.length} failures, ${wall.toFixed(1)} s`,
  );
  for (const f of failures.slice(0, 5)) console.error(`FAIL ${f.what}: ${f.error}\n  input (base64): ${f.input}`);
  return failures.length === 0;
}

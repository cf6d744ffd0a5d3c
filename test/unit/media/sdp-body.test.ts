import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MediaError } from '../../../src/media/media-error.js';
import { annotateForPeer, hasAnnotations, isNullAddress, parseSdpBody, rewriteForPhone, stripAnnotations, type ParsedSdp } from '../../../src/media/sdp-body.js';
import { BARESIP, bytes, CRYPTO_LINE, HOLD_AND_DISABLED, IPV6, LINPHONE, manyStreams, RTCP_MUX, RTCP_MUX_ONLY, SIPP, sdp, SRTP, text } from '../../support/media/sdp-samples.js';

const parse = (s: string, max?: number): ParsedSdp => parseSdpBody(bytes(s), max);

function assert488(fn: () => unknown, code?: string): MediaError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof MediaError, `a MediaError, got ${String(caught)}`);
  assert.equal(caught.status, 488);
  assert.equal(caught.reason, 'Not Acceptable Here');
  if (code !== undefined) assert.equal(caught.code, code);
  return caught;
}

/** Lines of `s`, in order. */
const linesOf = (s: string | Uint8Array): string[] => (typeof s === 'string' ? s : text(s)).split('\r\n').filter((l) => l !== '');

describe('parseSdpBody: real-world SDPs', () => {
  test("SIPp's default SDP", () => {
    const p = parse(SIPP);
    assert.equal(p.streams.length, 1);
    assert.deepEqual(p.streams[0], { media: 'audio', port: 6000, proto: 'RTP/AVP', address: '127.0.0.1', rtcpPort: undefined, rtcpAddress: undefined, rtcpMux: false, relay: undefined });
    assert.equal(p.hint, undefined);
    assert.deepEqual(p.mLines, [5]);
    assert.equal(p.lines.length, 7);
  });

  test('baresip: one stream, session c=, no a=rtcp', () => {
    const p = parse(BARESIP);
    assert.equal(p.streams.length, 1);
    const s = p.streams[0]!;
    assert.equal(s.port, 10786);
    assert.equal(s.address, '192.168.1.10');
    assert.equal(s.rtcpPort, undefined);
    assert.equal(s.rtcpMux, false);
    assert.equal(hasAnnotations(p), false);
  });

  test('linphone: audio + video, a=rtcp without and with an address', () => {
    const p = parse(LINPHONE);
    assert.deepEqual(
      p.streams.map((s) => [s.media, s.port, s.address, s.rtcpPort, s.rtcpAddress]),
      [
        ['audio', 7078, '192.168.1.20', 7079, undefined],
        ['video', 9078, '192.168.1.20', 9079, '192.168.1.20'],
      ],
    );
  });

  test('SDES a=crypto and telephone-event, media-level c= only', () => {
    const p = parse(SRTP);
    assert.equal(p.streams[0]!.proto, 'RTP/SAVP');
    assert.equal(p.streams[0]!.address, '10.0.0.5');
  });

  test('rtcp-mux with and without a=rtcp', () => {
    const a = parse(RTCP_MUX).streams[0]!;
    assert.equal(a.rtcpMux, true);
    assert.equal(a.rtcpPort, 40000);
    const b = parse(RTCP_MUX_ONLY).streams[0]!;
    assert.equal(b.rtcpMux, true);
    assert.equal(b.rtcpPort, undefined);
  });

  test('IPv6 c= and a=rtcp with an IPv6 address', () => {
    const s = parse(IPV6).streams[0]!;
    assert.equal(s.address, '2001:db8::10');
    assert.equal(s.rtcpPort, 5005);
    assert.equal(s.rtcpAddress, '2001:db8::10');
  });

  test('hold (media-level c=0.0.0.0 overrides the session c=) and a disabled stream', () => {
    const p = parse(HOLD_AND_DISABLED);
    assert.equal(p.streams[0]!.address, '0.0.0.0');
    assert.equal(p.streams[1]!.port, 0);
    assert.equal(isNullAddress(p.streams[0]!.address), true);
    assert.equal(isNullAddress('::'), true);
    assert.equal(isNullAddress('192.168.1.40'), false);
    assert.equal(isNullAddress(undefined), false);
  });

  test('LF-only line ends are taken too', () => {
    const p = parseSdpBody(bytes(SIPP.replace(/\r\n/g, '\n')));
    assert.equal(p.streams[0]!.port, 6000);
  });

  test('a body in a larger buffer (byteOffset) is read from its own bytes only', () => {
    const inner = bytes(SIPP);
    const big = new Uint8Array(inner.length + 20).fill(0x41);
    big.set(inner, 10);
    const p = parseSdpBody(big.subarray(10, 10 + inner.length));
    assert.equal(p.streams[0]!.port, 6000);
  });

  test('a port-0 stream needs no c=', () => {
    const p = parse(sdp(['v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 't=0 0', 'm=audio 0 RTP/AVP 0']));
    assert.equal(p.streams[0]!.address, undefined);
  });
});

describe('parseSdpBody: our attributes', () => {
  test('hint at session level, relay per stream with and without a trunk', () => {
    const p = parse(
      sdp(['v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 'c=IN IP4 1.2.3.4', 't=0 0', 'a=p2psip-media:direct-ok', 'm=audio 5000 RTP/AVP 0', 'a=p2psip-relay:0a0b0c0d', 'm=video 5002 RTP/AVP 96', 'a=p2psip-relay:ffffffff 198.51.100.7 41000']),
    );
    assert.equal(p.hint, 'direct-ok');
    assert.deepEqual(p.streams[0]!.relay, { tag: 0x0a0b0c0d });
    assert.deepEqual(p.streams[1]!.relay, { tag: 0xffffffff, trunk: { host: '198.51.100.7', port: 41000 } });
    assert.equal(hasAnnotations(p), true);
  });

  test('a hint below the first m-line, an unknown hint, a bad tag or a bad trunk port are not taken', () => {
    const p = parse(
      sdp(['v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 'c=IN IP4 1.2.3.4', 't=0 0', 'a=p2psip-media:maybe', 'm=audio 5000 RTP/AVP 0', 'a=p2psip-media:nat', 'a=p2psip-relay:xyz', 'm=audio 5002 RTP/AVP 0', 'a=p2psip-relay:00000001 1.2.3.4 70000', 'm=audio 5004 RTP/AVP 0', 'a=p2psip-relay:0000000G']),
    );
    assert.equal(p.hint, undefined);
    assert.equal(p.streams[0]!.relay, undefined);
    assert.deepEqual(p.streams[1]!.relay, { tag: 1 }, 'a trunk port past 65535 is dropped, the tag kept');
    assert.equal(p.streams[2]!.relay, undefined);
  });
});

describe('parseSdpBody: malformed input is a MediaError 488, nothing else', () => {
  const base = ['v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 'c=IN IP4 1.2.3.4', 't=0 0'];
  const cases: Array<[string, string, string]> = [
    ['empty', '', 'SDP_MALFORMED'],
    ['no v=0', sdp(base.slice(1).concat('m=audio 5000 RTP/AVP 0')), 'SDP_MALFORMED'],
    ['v=1', sdp(['v=1', ...base.slice(1), 'm=audio 5000 RTP/AVP 0']), 'SDP_MALFORMED'],
    ['a garbage line', sdp([...base, 'hello world', 'm=audio 5000 RTP/AVP 0']), 'SDP_MALFORMED'],
    ['an upper-case type', sdp([...base, 'M=audio 5000 RTP/AVP 0']), 'SDP_MALFORMED'],
    ['an empty line inside', sdp([...base, '', 'm=audio 5000 RTP/AVP 0']), 'SDP_MALFORMED'],
    ['no o=', sdp(['v=0', 's=-', 'c=IN IP4 1.2.3.4', 't=0 0', 'm=audio 5000 RTP/AVP 0']), 'SDP_MALFORMED'],
    ['a stream without c=', sdp(['v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 't=0 0', 'm=audio 5000 RTP/AVP 0']), 'SDP_MALFORMED'],
    ['a c= without address', sdp(['v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 'c=IN IP4', 't=0 0', 'm=audio 5000 RTP/AVP 0']), 'SDP_MALFORMED'],
    ['a port that is not a number', sdp([...base, 'm=audio abc RTP/AVP 0']), 'SDP_MALFORMED'],
    ['a negative port', sdp([...base, 'm=audio -1 RTP/AVP 0']), 'SDP_MALFORMED'],
    ['a port past 65535', sdp([...base, 'm=audio 70000 RTP/AVP 0']), 'SDP_MALFORMED'],
    ['an m-line without protocol', sdp([...base, 'm=audio 5000']), 'SDP_MALFORMED'],
    ['17 m-lines', manyStreams(17), 'SDP_TOO_MANY_STREAMS'],
    ['1,000 m-lines', manyStreams(1000), 'SDP_TOO_MANY_STREAMS'],
  ];
  for (const [name, body, code] of cases) {
    test(name, () => {
      assert488(() => parse(body), code);
    });
  }

  test('16 m-lines are taken; the limit is configurable', () => {
    assert.equal(parse(manyStreams(16)).streams.length, 16);
    assert488(() => parse(manyStreams(3), 2), 'SDP_TOO_MANY_STREAMS');
    assert.equal(parse(manyStreams(17), 17).streams.length, 17);
  });

  test('100,000 m-lines: refused by their count, the message says how many', () => {
    const e = assert488(() => parse(manyStreams(100_000)), 'SDP_TOO_MANY_STREAMS');
    assert.match(e.message, /100000 m-lines, at most 16/);
  });
});

describe('rewriteForPhone', () => {
  const ADDR = '203.0.113.9';

  test('rewrites o= and c= addresses, the m= port and a=rtcp; every other line stays byte for byte', () => {
    const out = linesOf(rewriteForPhone(parse(LINPHONE), ADDR, [{ port: 30000 }, { port: 30002 }]));
    const orig = linesOf(LINPHONE);
    assert.equal(out.length, orig.length);
    const changed = new Map<number, string>();
    out.forEach((l, i) => {
      if (l !== orig[i]) changed.set(i, l);
    });
    assert.deepEqual([...changed.entries()], [
      [1, orig[1]!.replace(/IN IP4 \S+$/, `IN IP4 ${ADDR}`)],
      [3, `c=IN IP4 ${ADDR}`],
      [6, 'm=audio 30000 RTP/AVP 96 97 0 8 101'],
      [11, 'a=rtcp:30001'],
      [14, 'm=video 30002 RTP/AVP 96'],
      [16, `a=rtcp:30003 IN IP4 ${ADDR}`],
    ]);
  });

  test('a=crypto, telephone-event and the media-level c= of SRTP', () => {
    const out = text(rewriteForPhone(parse(SRTP), ADDR, [{ port: 31000 }]));
    assert.ok(out.includes(`\r\n${CRYPTO_LINE}\r\n`), 'a=crypto untouched');
    assert.match(out, /\r\nm=audio 31000 RTP\/SAVP 0 101\r\nc=IN IP4 203\.0\.113\.9\r\n/);
    assert.match(out, /a=rtpmap:101 telephone-event\/8000\r\na=fmtp:101 0-16\r\n/);
    assert.ok(out.endsWith('a=ptime:20\r\n'));
    assert.deepEqual(linesOf(out).filter((l) => l.includes('10.0.0.5')), [], 'the phone address is gone (topology hiding)');
    assert.match(out, /^v=0\r\no=alice 2890844526 2890844526 IN IP4 203\.0\.113\.9\r\n/, 'o= keeps its user, session id and version');
  });

  test('IPv6 address for the phone: c=IN IP6 and a=rtcp IN IP6', () => {
    const out = text(rewriteForPhone(parse(SIPP), '2001:db8::99', [{ port: 32000 }]));
    assert.match(out, /\r\nc=IN IP6 2001:db8::99\r\n/);
    const out6 = text(rewriteForPhone(parse(IPV6), '2001:db8::99', [{ port: 32000 }]));
    assert.match(out6, /\r\na=rtcp:32001 IN IP6 2001:db8::99\r\n/);
    const out4 = text(rewriteForPhone(parse(IPV6), ADDR, [{ port: 32000 }]));
    assert.match(out4, /\r\na=rtcp:32001 IN IP4 203\.0\.113\.9\r\n/);
    assert.match(out4, /\r\nc=IN IP4 203\.0\.113\.9\r\n/);
  });

  test('hold (c=0.0.0.0) stays, a port-0 m-line stays, an undefined rewrite leaves its m-line', () => {
    const out = linesOf(rewriteForPhone(parse(HOLD_AND_DISABLED), ADDR, [{ port: 33000 }, undefined]));
    assert.deepEqual(out, ['v=0', `o=- 9 10 IN IP4 ${ADDR}`, 's=-', `c=IN IP4 ${ADDR}`, 't=0 0', 'm=audio 33000 RTP/AVP 0', 'c=IN IP4 0.0.0.0', 'a=sendonly', 'm=video 0 RTP/AVP 96', 'a=rtpmap:96 H264/90000']);
  });

  test('session c= stays when no stream is relayed', () => {
    assert.equal(text(rewriteForPhone(parse(SIPP), ADDR, [undefined])), SIPP);
  });

  test('a session-level c=0.0.0.0 (hold) stays though streams are relayed', () => {
    const held = SIPP.replace('c=IN IP4 127.0.0.1', 'c=IN IP4 0.0.0.0');
    const out = text(rewriteForPhone(parse(held), ADDR, [{ port: 34000 }]));
    assert.match(out, /\r\nc=IN IP4 0\.0\.0\.0\r\n/);
    assert.match(out, /\r\nm=audio 34000 RTP\/AVP 0\r\n/);
  });

  test('rtcp-mux: a=rtcp-mux stays, a=rtcp moves with the port', () => {
    const out = linesOf(rewriteForPhone(parse(RTCP_MUX), ADDR, [{ port: 35000 }]));
    assert.ok(out.includes('a=rtcp-mux'));
    assert.ok(out.includes('a=rtcp:35001'));
    assert.ok(out.includes('m=audio 35000 RTP/AVP 111'));
  });

  test('our attributes never reach a phone; the output always ends with CRLF', () => {
    const annotated = annotateForPeer(parse(BARESIP), 'nat', [{ tag: 0x1234 }]);
    const out = text(rewriteForPhone(parseSdpBody(annotated), ADDR, [{ port: 36000 }]));
    assert.doesNotMatch(out, /p2psip/);
    assert.ok(out.endsWith('\r\n') && !out.endsWith('\r\n\r\n'));
  });
});

describe('parseSdpBody / annotateForPeer: bundles', () => {
  test('a relay that takes bundles says so on a line of its own, after the tag; the round trip keeps it', () => {
    const out = linesOf(annotateForPeer(parse(BARESIP), 'nat', [{ tag: 0x42, trunk: { host: '198.51.100.1', port: 40000 }, bundles: true }]));
    assert.deepEqual(out.slice(-2), ['a=p2psip-relay:00000042 198.51.100.1 40000', 'a=p2psip-relay:bundle']);
    const back = parseSdpBody(annotateForPeer(parse(BARESIP), 'nat', [{ tag: 0x42, bundles: true }]));
    assert.deepEqual(back.streams[0]!.relay, { tag: 0x42, bundles: true });
    assert.equal(text(stripAnnotations(back)), BARESIP, 'stripped like the other lines');
  });

  test('the bundle line alone names no relay; before the tag line it still counts', () => {
    const alone = parse(BARESIP + 'a=p2psip-relay:bundle\r\n');
    assert.equal(alone.streams[0]!.relay, undefined);
    const before = parse(BARESIP + 'a=p2psip-relay:bundle\r\na=p2psip-relay:00000009\r\n');
    assert.deepEqual(before.streams[0]!.relay, { tag: 9, bundles: true });
  });
});

describe('annotateForPeer / stripAnnotations', () => {
  test('the hint goes before the first m-line, each tag at the end of its stream; the rest is unchanged', () => {
    const out = linesOf(annotateForPeer(parse(LINPHONE), 'direct-ok', [{ tag: 0xdeadbeef }, { tag: 7, trunk: { host: '198.51.100.1', port: 40000 } }]));
    const orig = linesOf(LINPHONE);
    const mAudio = out.indexOf(orig[6]!);
    assert.equal(out[mAudio - 1], 'a=p2psip-media:direct-ok');
    const mVideo = out.indexOf(orig[14]!);
    assert.equal(out[mVideo - 1], 'a=p2psip-relay:deadbeef');
    assert.equal(out[out.length - 1], 'a=p2psip-relay:00000007 198.51.100.1 40000');
    assert.deepEqual(
      out.filter((l) => !l.startsWith('a=p2psip-')),
      orig,
    );
    const back = parseSdpBody(annotateForPeer(parse(LINPHONE), 'direct-ok', [{ tag: 0xdeadbeef }, { tag: 7, trunk: { host: '198.51.100.1', port: 40000 } }]));
    assert.equal(back.hint, 'direct-ok');
    assert.deepEqual(back.streams.map((s) => s.relay), [{ tag: 0xdeadbeef }, { tag: 7, trunk: { host: '198.51.100.1', port: 40000 } }]);
  });

  test('an undefined tag (port 0) gets no relay line', () => {
    const back = parseSdpBody(annotateForPeer(parse(HOLD_AND_DISABLED), 'nat', [{ tag: 1 }, undefined]));
    assert.deepEqual(back.streams.map((s) => s.relay), [{ tag: 1 }, undefined]);
    assert.equal(back.hint, 'nat');
  });

  test('a phone cannot forge our attributes: old ones are replaced', () => {
    const forged = BARESIP.replace('t=0 0\r\n', 't=0 0\r\na=p2psip-media:direct-ok\r\n') + 'a=p2psip-relay:00000bad 6.6.6.6 666\r\n';
    const back = parseSdpBody(annotateForPeer(parse(forged), 'nat', [{ tag: 0x42 }]));
    assert.equal(back.hint, 'nat');
    assert.deepEqual(back.streams[0]!.relay, { tag: 0x42 });
    assert.equal(text(annotateForPeer(parse(forged), 'nat', [{ tag: 0x42 }])).match(/p2psip-/g)!.length, 2);
  });

  test('round trip: strip(annotate(x)) is x, byte for byte', () => {
    for (const s of [SIPP, BARESIP, LINPHONE, SRTP, RTCP_MUX, IPV6, HOLD_AND_DISABLED]) {
      const p = parse(s);
      const tags = p.streams.map((_, k) => ({ tag: 0x1000 + k }));
      const annotated = annotateForPeer(p, 'nat', tags);
      assert.notEqual(text(annotated), s);
      assert.equal(text(stripAnnotations(parseSdpBody(annotated))), s);
    }
  });

  test('an SDP without m-lines still carries the hint', () => {
    const p = parse(sdp(['v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 't=0 0']));
    const back = parseSdpBody(annotateForPeer(p, 'direct-ok', []));
    assert.equal(back.hint, 'direct-ok');
  });
});

describe('fuzz: random and mutated bytes never throw anything but MediaError', () => {
  const seeds = [SIPP, BARESIP, LINPHONE, SRTP, RTCP_MUX, RTCP_MUX_ONLY, IPV6, HOLD_AND_DISABLED];

  function onlyMediaError(body: Uint8Array): void {
    try {
      const p = parseSdpBody(body);
      // what parses can be rewritten and annotated, and that parses again
      const rw = rewriteForPhone(p, '203.0.113.1', p.streams.map((s, k) => (s.port === 0 ? undefined : { port: 20000 + 2 * k })));
      parseSdpBody(rw);
      const an = annotateForPeer(p, 'nat', p.streams.map((_, k) => ({ tag: k + 1 })));
      const back = parseSdpBody(an);
      assert.equal(text(stripAnnotations(back)), text(stripAnnotations(p)));
    } catch (err) {
      if (!(err instanceof MediaError)) throw err;
      assert.equal(err.status, 488);
    }
  }

  test('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => onlyMediaError(b)), { seed: 1301, numRuns: 2_000 });
  });

  test('random printable text behind v=0', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (s) => onlyMediaError(bytes(`v=0\r\n${s}`))), { seed: 1302, numRuns: 2_000 });
  });

  test('real SDPs with lines dropped, duplicated, swapped or mangled', () => {
    const mutation = fc.record({
      seed: fc.constantFrom(...seeds),
      ops: fc.array(
        fc.record({
          kind: fc.constantFrom('drop', 'dup', 'swap', 'mangle', 'insert', 'truncate'),
          i: fc.nat(),
          j: fc.nat(),
          junk: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('m=audio', 'c=IN IP4', 'a=rtcp:', 'm=audio 99999 RTP/AVP 0', 'c=IN IP6 ::', 'a=p2psip-relay:00000001 ::1 0', 'a=rtcp:1 IN IP4', 'o=', 'v=0', 'm= 0 x')),
        }),
        { maxLength: 6 },
      ),
    });
    fc.assert(
      fc.property(mutation, ({ seed, ops }) => {
        const lines = seed.split('\r\n');
        for (const op of ops) {
          const i = op.i % lines.length;
          const j = op.j % lines.length;
          if (op.kind === 'drop') lines.splice(i, 1);
          else if (op.kind === 'dup') lines.splice(i, 0, lines[i] ?? '');
          else if (op.kind === 'swap') [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
          else if (op.kind === 'mangle') lines[i] = (lines[i] ?? '').slice(0, op.j % 12) + op.junk;
          else if (op.kind === 'insert') lines.splice(i, 0, op.junk);
          else lines[i] = (lines[i] ?? '').slice(0, op.j % 8);
          if (lines.length === 0) lines.push('');
        }
        onlyMediaError(bytes(lines.join('\r\n')));
      }),
      { seed: 1303, numRuns: 3_000 },
    );
  });
});

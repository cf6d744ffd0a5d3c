import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { StreamFramer, findContentLength, type FramerEvent } from '../../../../src/sip/transport/stream-framer.js';
import { DEFAULT_SIP_LIMITS, type SipLimits } from '../../../../src/sip/message/sip-message.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function msg(body = '', extra = ''): string {
  return (
    'INVITE sip:bob@example.com SIP/2.0\r\n' +
    'Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n' +
    'Call-ID: a84b4c76e66710\r\n' +
    extra +
    `Content-Length: ${enc.encode(body).length}\r\n\r\n` +
    body
  );
}

/** Simplified view of events for comparisons. */
function view(events: FramerEvent[]): string[] {
  return events.map((e) => (e.kind === 'message' ? `M:${dec.decode(e.data)}` : e.kind === 'ping' ? 'PING' : `E:${e.reason}`));
}

function feedAll(framer: StreamFramer, chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const c of chunks) out.push(...view(framer.push(c)));
  return out;
}

describe('StreamFramer', () => {
  test('stage: idle between messages (pings too), start-line, headers, body; pendingHeader while the body is awaited', () => {
    const f = new StreamFramer();
    const m = msg('hello');
    const headerLen = m.length - 5;
    const stages: string[] = [f.stage];
    const line = m.indexOf('\n') + 1;
    for (const piece of ['\r\n\r\n', m.slice(0, 3), m.slice(3, line + 5), m.slice(line + 5, headerLen), 'hel', 'lo']) {
      f.push(enc.encode(piece));
      stages.push(f.stage);
      if (f.stage === 'body') assert.equal(dec.decode(f.pendingHeader()), m.slice(0, headerLen));
    }
    assert.deepEqual(stages, ['idle', 'idle', 'start-line', 'headers', 'body', 'body', 'idle']);
    assert.equal(f.pendingHeader(), undefined);
  });

  test('one message in one chunk', () => {
    const f = new StreamFramer();
    const m = msg('v=0\r\n');
    assert.deepEqual(view(f.push(enc.encode(m))), [`M:${m}`]);
    assert.equal(f.bufferedBytes, 0);
  });

  test('several messages and pings in one chunk, lone CRLFs skipped', () => {
    const f = new StreamFramer();
    const a = msg('hello');
    const b = msg('', 'Subject: x\r\n');
    const stream = '\r\n' + a + '\r\n\r\n' + b + '\r\n\r\n\r\n' + a;
    assert.deepEqual(view(f.push(enc.encode(stream))), [`M:${a}`, 'PING', `M:${b}`, 'PING', `M:${a}`]);
  });

  test('split at every byte boundary (two cuts) gives the same events', () => {
    const a = msg('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n');
    const b = msg('');
    const whole = enc.encode(a + '\r\n\r\n' + b + '\r\n' + a);
    const expected = [`M:${a}`, 'PING', `M:${b}`, `M:${a}`];
    for (let i = 0; i <= whole.length; i++) {
      for (let j = i; j <= whole.length; j += 7) {
        const f = new StreamFramer();
        const got = feedAll(f, [whole.subarray(0, i), whole.subarray(i, j), whole.subarray(j)]);
        assert.deepEqual(got, expected, `cuts at ${i},${j}`);
        assert.equal(f.bufferedBytes, 0);
      }
    }
  });

  test('byte by byte', () => {
    const a = msg('body-bytes');
    const whole = enc.encode(a + '\r\n\r\n' + a);
    const f = new StreamFramer();
    const got = feedAll(f, Array.from(whole, (b) => Uint8Array.of(b)));
    assert.deepEqual(got, [`M:${a}`, 'PING', `M:${a}`]);
  });

  test('CRLF split across chunks still forms a ping', () => {
    const f = new StreamFramer();
    assert.deepEqual(view(f.push(enc.encode('\r'))), []);
    assert.deepEqual(view(f.push(enc.encode('\n\r'))), []);
    assert.deepEqual(view(f.push(enc.encode('\n'))), ['PING']);
    assert.deepEqual(view(f.push(enc.encode('\r\n'))), []);
    assert.deepEqual(view(f.push(enc.encode('\r\n'))), ['PING']);
  });

  test('does not keep a reference to the caller chunk', () => {
    const f = new StreamFramer();
    const a = msg('abcdef');
    const bytes = enc.encode(a);
    const chunk = bytes.slice(0, 20);
    f.push(chunk);
    chunk.fill(0x41);
    assert.deepEqual(view(f.push(bytes.subarray(20))), [`M:${a}`]);
  });

  test('compact form l and folded value', () => {
    const f = new StreamFramer();
    const m = 'MESSAGE sip:a@b SIP/2.0\r\nl:\r\n 3\r\n\r\nabc';
    assert.deepEqual(view(f.push(enc.encode(m))), [`M:${m}`]);
  });

  test('bare LF line endings are tolerated', () => {
    const f = new StreamFramer();
    const m = 'OPTIONS sip:a@b SIP/2.0\nContent-Length: 2\n\nok';
    assert.deepEqual(view(f.push(enc.encode(m + m))), [`M:${m}`, `M:${m}`]);
  });

  test('missing Content-Length is a framing error with the header section', () => {
    const f = new StreamFramer();
    const events = f.push(enc.encode('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n'));
    assert.equal(events.length, 1);
    const e = events[0]!;
    assert.equal(e.kind, 'error');
    if (e.kind === 'error') {
      assert.equal(e.reason, 'missing-content-length');
      assert.match(dec.decode(e.header), /^OPTIONS/);
    }
    assert.equal(f.failed, true);
    assert.deepEqual(f.push(enc.encode(msg(''))), [], 'dead framer ignores input');
  });

  for (const bad of ['abc', '-1', '1.5', '12345678901', '']) {
    test(`malformed Content-Length '${bad}'`, () => {
      const f = new StreamFramer();
      const ev = view(f.push(enc.encode(`OPTIONS sip:a@b SIP/2.0\r\nContent-Length: ${bad}\r\n\r\n`)));
      assert.deepEqual(ev, ['E:bad-content-length']);
    });
  }

  test('conflicting Content-Length fields', () => {
    const f = new StreamFramer();
    const ev = view(f.push(enc.encode('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab')));
    assert.deepEqual(ev, ['E:bad-content-length']);
  });

  test('leading zeros are fine', () => {
    assert.deepEqual(findContentLength(enc.encode('X\r\nContent-Length: 0000000000002\r\n\r\n')), { kind: 'ok', value: 2 });
  });

  test('header section larger than the limit, without end', () => {
    const limits: SipLimits = { ...DEFAULT_SIP_LIMITS, maxHeaderBytes: 100 };
    const f = new StreamFramer(limits);
    const events: string[] = [];
    let pushed = 0;
    const line = enc.encode('X-Filler: 0123456789\r\n');
    events.push(...view(f.push(enc.encode('OPTIONS sip:a@b SIP/2.0\r\n'))));
    while (events.length === 0 && pushed < 1000) {
      events.push(...view(f.push(line)));
      pushed++;
      assert.ok(f.bufferedBytes <= 100 + line.length);
    }
    assert.deepEqual(events, ['E:header-too-large']);
    assert.equal(f.bufferedBytes, 0);
  });

  test('endless garbage without LF fails at the header limit', () => {
    const f = new StreamFramer({ ...DEFAULT_SIP_LIMITS, maxHeaderBytes: 1000 });
    const junk = new Uint8Array(300).fill(0x7a);
    const events: string[] = [];
    for (let i = 0; i < 10 && events.length === 0; i++) events.push(...view(f.push(junk)));
    assert.deepEqual(events, ['E:header-too-large']);
  });

  test('complete header section just over the limit', () => {
    const m = msg('');
    const headerLen = enc.encode(m).length;
    const f = new StreamFramer({ ...DEFAULT_SIP_LIMITS, maxHeaderBytes: headerLen - 1 });
    assert.deepEqual(view(f.push(enc.encode(m))), ['E:header-too-large']);
    const g = new StreamFramer({ ...DEFAULT_SIP_LIMITS, maxHeaderBytes: headerLen });
    assert.deepEqual(view(g.push(enc.encode(m))), [`M:${m}`]);
  });

  test('body and message size limits', () => {
    const f = new StreamFramer({ ...DEFAULT_SIP_LIMITS, maxBodyBytes: 10 });
    assert.deepEqual(view(f.push(enc.encode(msg('x'.repeat(11))))), ['E:body-too-large']);
    const m = msg('x'.repeat(10));
    const total = enc.encode(m).length;
    const g = new StreamFramer({ ...DEFAULT_SIP_LIMITS, maxMessageBytes: total - 1 });
    assert.deepEqual(view(g.push(enc.encode(m))), ['E:message-too-large']);
    const h = new StreamFramer({ ...DEFAULT_SIP_LIMITS, maxMessageBytes: total });
    assert.deepEqual(view(h.push(enc.encode(m))), [`M:${m}`]);
  });

  test('huge Content-Length is refused before any body is buffered', () => {
    const f = new StreamFramer();
    const ev = view(f.push(enc.encode('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 4000000000\r\n\r\n')));
    assert.deepEqual(ev, ['E:body-too-large']);
  });

  test('random garbage never throws and never retains more than the limits', () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    const limits: SipLimits = { ...DEFAULT_SIP_LIMITS, maxHeaderBytes: 2048, maxMessageBytes: 4096, maxBodyBytes: 4000 };
    const alphabet = enc.encode('\r\n:l Content-Length 0123456789INVITE SIP/2.0\x00\xff');
    for (let run = 0; run < 200; run++) {
      const f = new StreamFramer(limits);
      for (let c = 0; c < 20; c++) {
        const chunk = new Uint8Array(rnd() % 600);
        for (let k = 0; k < chunk.length; k++) chunk[k] = alphabet[rnd() % alphabet.length]!;
        f.push(chunk);
        assert.ok(f.bufferedBytes <= Math.max(limits.maxHeaderBytes + 3, limits.maxMessageBytes));
      }
    }
  });

  test('linear time on a large message arriving in tiny chunks', () => {
    const limits: SipLimits = { ...DEFAULT_SIP_LIMITS, maxHeaderBytes: 32768, maxMessageBytes: 200_000, maxBodyBytes: 190_000 };
    const filler = Array.from({ length: 300 }, (_, i) => `X-H${i}: ${'v'.repeat(80)}\r\n`).join('');
    const m = msg('b'.repeat(150_000), filler);
    const bytes = enc.encode(m);
    const f = new StreamFramer(limits);
    const t0 = performance.now();
    let got = 0;
    for (let i = 0; i < bytes.length; i += 3) {
      for (const e of f.push(bytes.subarray(i, i + 3))) if (e.kind === 'message') got += e.data.length;
    }
    const ms = performance.now() - t0;
    assert.equal(got, bytes.length);
    assert.ok(ms < 2000, `took ${ms} ms`);
  });
});

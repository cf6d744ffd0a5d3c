/**
 * Tests of the interop harness itself (no SIP program needed): bounded processes, ports,
 * parsers of SIPp statistics and netstrings, SIPp and tshark command lines.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { BoundedProcess, describeExit, LIFETIME_EXCEEDED_EXIT, LineSplitter } from '../../harness/bounded-process.js';
import { ProcessScope, withScope } from '../../harness/process-scope.js';
import { encodeNetstring, NetstringDecoder } from './helpers/netstring-json.js';
import { FOUR_DIGIT_PORTS, PortAllocator } from '../../harness/port-allocator.js';
import { requireTools } from '../../harness/require-tools.js';
import { parseSippDuration, parseSippScreen, parseSippStatCsv } from '../../harness/sipp-stats.js';
import { sippArgs, writeInjectionFile } from '../../harness/sipp-runner.js';
import { captureFilter, decodeAsSip } from './helpers/tshark.js';
import { sipOptionsPing } from '../../harness/sip-probe.js';

describe('BoundedProcess', () => {
  test('waits for a line instead of sleeping, and reports the exit', async () => {
    const p = new BoundedProcess({ command: 'sh', args: ['-c', 'echo one; echo ready >&2; echo two'], lifetimeMs: 5000 });
    assert.equal(await p.waitForLine(/ready/, { timeoutMs: 5000 }), 'ready');
    assert.deepEqual(await p.exited, { code: 0, signal: null });
    assert.ok(p.lines().includes('two'));
  });

  test('rejects when the line never comes before exit, with the output tail', async () => {
    const p = new BoundedProcess({ command: 'sh', args: ['-c', 'echo nope; exit 3'], lifetimeMs: 5000 });
    await assert.rejects(p.waitForLine(/never/, { timeoutMs: 5000 }), /exit code 3[\s\S]*nope/);
  });

  test('rejects after the timeout', async () => {
    const p = new BoundedProcess({ command: 'sleep', args: ['30'], lifetimeMs: 30_000 });
    await assert.rejects(p.waitForLine(/x/, { timeoutMs: 100 }), /within 100 ms/);
    await p.stop();
  });

  test('the lifetime bound kills a program that would run forever', async () => {
    const p = new BoundedProcess({ command: 'sleep', args: ['60'], lifetimeMs: 1000 });
    const exit = await p.exited;
    assert.equal(exit.code, LIFETIME_EXCEEDED_EXIT, describeExit(exit));
  });

  test('stop() kills the whole process group, including children', async () => {
    const p = new BoundedProcess({
      command: 'sh',
      args: ['-c', 'sleep 60 & echo child $!; wait'],
      lifetimeMs: 60_000,
    });
    const line = await p.waitForLine(/^child \d+$/, { timeoutMs: 5000 });
    const childPid = Number(line.split(' ')[1]);
    await p.stop('SIGTERM', 2000);
    assert.equal(await goneOrZombie(childPid, 3000), true, `child ${childPid} survived`);
  });

  test('keeps a bounded number of lines, and since-cursors still work', async () => {
    const p = new BoundedProcess({ command: 'seq', args: ['1', '500'], lifetimeMs: 5000, maxLines: 10 });
    await p.exited;
    assert.equal(p.lines().length, 10);
    assert.equal(p.lineCount(), 500);
    // Line index 495 is the 496th line.
    assert.equal(await p.waitForLine(/^49\d$/, { timeoutMs: 100, since: 495 }), '496');
  });

  test('lines across chunks keep their order; an over-long line is truncated and its remainder dropped', () => {
    const split = new LineSplitter(20);
    const got: string[] = [];
    for (const chunk of ['a\nxxxxxxxxxx', 'xxxxxxxxxxxxxxx', 'xxxxx\nb\nc\r', '\n' + 'y'.repeat(50), '\nd']) got.push(...split.push(chunk));
    assert.deepEqual(got, ['a', 'x'.repeat(20), 'b', 'c', 'y'.repeat(20)]);
    assert.equal(split.end(), 'd');
    assert.equal(split.end(), undefined);
  });
});

/** Polls /proc until the process is gone or a zombie (killed, not yet reaped by init). */
async function goneOrZombie(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return true;
    }
    if (/^\d+ \(.*\) Z/.test(stat)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('ProcessScope', () => {
  test('dispose stops processes and removes temp dirs', async () => {
    const scope = new ProcessScope();
    const dir = scope.tempDir();
    writeFileSync(join(dir, 'x'), 'y');
    const p = scope.spawn({ command: 'sleep', args: ['60'], lifetimeMs: 60_000 });
    let deferred = false;
    scope.defer(() => {
      deferred = true;
    });
    await scope.dispose();
    assert.equal(existsSync(dir), false);
    assert.notEqual(p.exitInfo, undefined);
    assert.equal(deferred, true);
    assert.throws(() => scope.tempDir(), /disposed/);
  });

  test('withScope disposes after a failure too', async () => {
    let dir = '';
    await assert.rejects(
      withScope(async (scope) => {
        dir = scope.tempDir();
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(existsSync(dir), false);
  });
});

describe('PortAllocator', () => {
  test('hands out distinct ports free on UDP and TCP, spans included', async () => {
    const a = new PortAllocator(12345);
    const p1 = await a.allocate();
    const p2 = await a.allocate({ span: 2 });
    const p3 = await a.allocate({ range: FOUR_DIGIT_PORTS });
    assert.equal(new Set([p1, p2, p2 + 1, p3]).size, 4);
    assert.ok(p3 < 10000 && p3 >= FOUR_DIGIT_PORTS[0]);
    assert.ok(p1 >= 20000 && p1 < 32000);
  });

  test('skips a port somebody holds', async () => {
    const a = new PortAllocator(1);
    const first = await a.allocate();
    const sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind({ address: '127.0.0.1', port: first + 1 }, resolve));
    try {
      const next = await a.allocate();
      assert.notEqual(next, first + 1);
    } finally {
      sock.close();
    }
  });

  test('rejects silly requests', async () => {
    const a = new PortAllocator();
    await assert.rejects(a.allocate({ span: 0 }), RangeError);
    await assert.rejects(a.allocate({ range: [10, 20] }), RangeError);
  });
});

describe('SIPp statistics', () => {
  const header =
    'StartTime;LastResetTime;CurrentTime;ElapsedTime(P);ElapsedTime(C);TargetRate;CallRate(P);CallRate(C);' +
    'IncomingCall(P);IncomingCall(C);OutgoingCall(P);OutgoingCall(C);TotalCallCreated;CurrentCall;' +
    'SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);FailedMaxUDPRetrans(P);FailedMaxUDPRetrans(C);' +
    'FailedUnexpectedMessage(P);FailedUnexpectedMessage(C);Retransmissions(P);Retransmissions(C);' +
    'OutOfCallMsgs(P);OutOfCallMsgs(C);DeadCallMsgs(P);DeadCallMsgs(C);ResponseTime1(P);ResponseTime1(C);CallLength(P);CallLength(C);';
  const row = (ok: number, failed: number): string =>
    `t;t;t;00:00:01;00:00:05;100;99.4;99.3;0;0;10;${ok + failed};${ok + failed};0;10;${ok};0;${failed};0;1;0;${failed - 1};3;64;0;2;0;5;` +
    `00:00:00:004000;00:00:00:002500;00:00:00:008000;00:00:01:000000;`;

  test('the last row gives the cumulative counters', () => {
    const s = parseSippStatCsv(`${header}\n${row(10, 0)}\n${row(995, 5)}\n`);
    assert.ok(s !== undefined);
    assert.equal(s.successfulCalls, 995);
    assert.equal(s.failedCalls, 5);
    assert.equal(s.totalCallsCreated, 1000);
    assert.equal(s.retransmissions, 64);
    assert.equal(s.outOfCallMessages, 2);
    assert.equal(s.deadCallMessages, 5);
    assert.deepEqual(s.failureCauses, { FailedMaxUDPRetrans: 1, FailedUnexpectedMessage: 4 });
    assert.equal(s.responseTimeMs, 2.5);
    assert.equal(s.callLengthMs, 1000);
  });

  test('no data row, garbage or a truncated row never throw', () => {
    assert.equal(parseSippStatCsv(''), undefined);
    assert.equal(parseSippStatCsv(header), undefined);
    assert.equal(parseSippStatCsv('garbage;;;\n\n'), undefined);
    const s = parseSippStatCsv(`${header}\nt;t;t;1`);
    assert.equal(s?.successfulCalls, 0);
  });

  test('durations', () => {
    assert.equal(parseSippDuration('00:00:01:500000'), 1500);
    assert.equal(parseSippDuration('01:00:00'), 3_600_000);
    assert.equal(parseSippDuration('bad'), undefined);
  });

  test('screen fallback', () => {
    const screen =
      '  Successful call        |        0                  |      998                 \n' +
      '  Failed call            |        0                  |        2                 \n';
    assert.deepEqual(parseSippScreen(screen), { successfulCalls: 998, failedCalls: 2 });
    assert.equal(parseSippScreen('nothing'), undefined);
  });
});

describe('SIPp command line', () => {
  test('every run is bounded and loopback-only', () => {
    const args = sippArgs({
      name: 'uac',
      scenario: '/s/uac.xml',
      workDir: '/w',
      localPort: 20000,
      remote: { host: '127.0.0.1', port: 7000 },
      calls: 10,
      rate: 5,
      timeoutS: 30,
      lossPercent: 10,
      keys: { contact_port: '20001' },
    });
    const joined = args.join(' ');
    for (const needle of ['-m 10', '-timeout 30s', '-timeout_error', '-recv_timeout 5000', '-nostdin', '-i 127.0.0.1', '-lost 10', '-key contact_port 20001']) {
      assert.ok(joined.includes(needle), `${needle} missing in ${joined}`);
    }
    assert.equal(args[0], '127.0.0.1:7000');
    assert.ok(!joined.includes('-bg'), 'never daemonize: it would escape the lifetime bound');
  });

  test('injection file', async () => {
    await withScope(async (scope) => {
      const f = join(scope.tempDir(), 'users.csv');
      writeInjectionFile(f, [['alice'], ['bob', 'x']]);
      assert.equal(readFileSync(f, 'utf8'), 'SEQUENTIAL\nalice;\nbob;x;\n');
      assert.throws(() => writeInjectionFile(f, [['a;b']]), /may not contain/);
    });
  });
});

describe('tshark command lines', () => {
  test('capture filter and decode-as cover UDP and TCP on every port', () => {
    assert.equal(captureFilter([5060, 5060, 7000]), 'udp port 5060 or tcp port 5060 or udp port 7000 or tcp port 7000');
    assert.deepEqual(decodeAsSip([5060]), ['-d', 'udp.port==5060,sip', '-d', 'tcp.port==5060,sip']);
    assert.throws(() => captureFilter([]), /at least one/);
    assert.throws(() => captureFilter([70000]), RangeError);
  });
});

describe('netstrings (baresip ctrl_tcp)', () => {
  test('round trip across arbitrary chunking', () => {
    const frames = ['{"a":1}', '', '{"text":"h\u00e9llo, world"}'];
    const bytes = Buffer.concat(frames.map(encodeNetstring));
    for (let cut = 1; cut < bytes.length; cut++) {
      const d = new NetstringDecoder();
      const out = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      assert.deepEqual(out, frames);
    }
  });

  test('malformed or oversized frames are errors, not hangs or huge buffers', () => {
    assert.throws(() => new NetstringDecoder().push(Buffer.from('abc:xyz,')), /bad length/);
    assert.throws(() => new NetstringDecoder().push(Buffer.from('3:abcX')), /trailing comma/);
    assert.throws(() => new NetstringDecoder(10).push(Buffer.from('11:')), /exceeds/);
    assert.throws(() => new NetstringDecoder().push(Buffer.from('12345678901')), /too long/);
  });
});

describe('requireTools', () => {
  test('skips when a program is missing and not root, fails as root', () => {
    const skipped: string[] = [];
    const t = { skip: (m?: string) => skipped.push(m ?? '') };
    assert.equal(requireTools(t, ['sh']), true);
    assert.equal(requireTools(t, ['no-such-program-p2psip'], false), false);
    assert.match(skipped[0] ?? '', /no-such-program-p2psip.*install-interop\.sh/);
    assert.throws(() => requireTools(t, ['no-such-program-p2psip'], true), /failure, not a skip/);
  });
});

describe('sipOptionsPing', () => {
  test('resolves with the status a UDP server answers, undefined on silence', async () => {
    const server = createSocket('udp4');
    await new Promise<void>((resolve) => server.bind({ address: '127.0.0.1', port: 0 }, resolve));
    server.on('message', (msg, rinfo) => {
      assert.match(msg.toString(), /^OPTIONS sip:127\.0\.0\.1:\d+ SIP\/2\.0\r\n/);
      server.send('SIP/2.0 404 Not Found\r\nContent-Length: 0\r\n\r\n', rinfo.port, rinfo.address);
    });
    try {
      assert.equal(await sipOptionsPing('127.0.0.1', server.address().port, 2000), 404);
    } finally {
      server.close();
    }
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind({ address: '127.0.0.1', port: 0 }, resolve));
    try {
      assert.equal(await sipOptionsPing('127.0.0.1', silent.address().port, 300), undefined);
    } finally {
      silent.close();
    }
  });
});


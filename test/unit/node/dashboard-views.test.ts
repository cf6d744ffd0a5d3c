/**
 * The dashboard's views of the peer (issue 17): the log tail (bounded, cut lines, the logger's level
 * respected, everything passed through), links with their type and RTT, storage per kind.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LOG_TAIL_LINES, LogTail, teeLogger } from '../../../src/node/dashboard/log-tail.js';
import { MAX_LINKS_SHOWN, linkViews, type LinkSources } from '../../../src/node/dashboard/link-view.js';
import { storageByKind, type KindScanSource } from '../../../src/node/dashboard/storage-by-kind.js';
import type { Connection } from '../../../src/reload/overlay/connection-table.js';

describe('log tail', () => {
  test(`keeps the last ${LOG_TAIL_LINES} lines, numbered; long messages and fields are cut`, () => {
    const tail = new LogTail({ now: () => 42 }, { lineChars: 50 });
    for (let i = 0; i < LOG_TAIL_LINES + 10; i++) tail.push('info', { i }, `line ${i}`);
    const lines = tail.lines();
    assert.equal(lines.length, LOG_TAIL_LINES);
    assert.equal(lines[0]!.seq, 11);
    assert.equal(lines[0]!.msg, 'line 10');
    assert.equal(lines[0]!.fields, '{"i":10}');
    assert.equal(tail.total, LOG_TAIL_LINES + 10);
    tail.push('warn', { big: 'x'.repeat(500) }, 'm'.repeat(500));
    const last = tail.lines().at(-1)!;
    assert.equal(last.msg.length, 51);
    assert.equal(last.fields.length, 51);
    assert.equal(last.at, 42);
  });

  test('fields that JSON cannot show (BigInt, cycles) never throw', () => {
    const tail = new LogTail({ now: () => 0 });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    tail.push('info', { id: 12n }, 'bigint');
    tail.push('info', cyclic, 'cycle');
    tail.push('info', {}, 'empty');
    assert.deepEqual(tail.lines().map((l) => l.fields), ['{"id":"12"}', '[object Object]', '']);
  });

  test('the tee writes every line to the logger, keeps info/warn/error the level lets through, passes debug and trace', () => {
    const tail = new LogTail({ now: () => 0 });
    const seen: string[] = [];
    let level = 'info';
    const order = ['trace', 'debug', 'info', 'warn', 'error'];
    const logger = {
      info: (_o: object, m: string) => seen.push(`info ${m}`),
      warn: (_o: object, m: string) => seen.push(`warn ${m}`),
      error: (_o: object, m: string) => seen.push(`error ${m}`),
      debug: (_o: object, m: string) => seen.push(`debug ${m}`),
      trace: (_o: object, m: string) => seen.push(`trace ${m}`),
      isLevelEnabled: (l: string) => order.indexOf(l) >= order.indexOf(level),
    };
    const tee = teeLogger(logger, tail);
    tee.info({}, 'a');
    tee.warn({}, 'b');
    tee.error!({}, 'c');
    tee.debug!({}, 'd');
    tee.trace!({}, 'e');
    level = 'warn';
    tee.info({}, 'f');
    assert.deepEqual(seen, ['info a', 'warn b', 'error c', 'debug d', 'trace e', 'info f']);
    assert.deepEqual(tail.lines().map((l) => `${l.level} ${l.msg}`), ['info a', 'warn b', 'error c']);
    assert.equal(tee.isLevelEnabled!('warn'), true);
    // a listener that throws does not reach the code that logs
    tail.onLine(() => {
      throw new Error('observer bug');
    });
    assert.doesNotThrow(() => tee.warn({}, 'g'));
  });
});

describe('link view', () => {
  const conn = (linkId: string, nodeId: bigint | undefined, o: Partial<Connection> = {}): Connection => ({
    linkId,
    nodeId,
    remote: { host: '127.0.0.1', port: 6000 },
    outbound: true,
    routable: true,
    suspect: false,
    lastUsed: 0,
    upAt: 1_000,
    ...o,
  });
  const sources = (conns: Connection[]): LinkSources => ({
    connections: () => conns,
    tlsStats: (id) => (id.startsWith('tls') ? { srttMs: id === 'tls-new' ? undefined : 1.234 } : undefined),
    iceLinks: () => [
      { id: 'ice-1', pair: 'host→host', sr: { srttMs: 4.56 } },
      { id: 'ice-2', pair: 'host→relay', checkRttMs: 20 },
    ],
    hex: (id) => id.toString(16),
    now: () => 11_000,
  });

  test('TLS, DTLS and relayed links with their RTT; routable ones first', () => {
    const v = linkViews(sources([conn('tls-a', 5n, { routable: false }), conn('ice-1', 3n), conn('ice-2', 4n, { remote: { host: '::1', port: 7 } }), conn('tls-new', undefined), conn('odd', 9n)]));
    assert.deepEqual(
      v.map((l) => [l.linkId, l.nodeId, l.type, l.rttMs, l.routable]),
      [
        ['tls-new', null, 'tls', null, true],
        ['ice-1', '3', 'dtls', 4.6, true],
        ['ice-2', '4', 'relayed', 20, true],
        ['odd', '9', 'unknown', null, true],
        ['tls-a', '5', 'tls', 1.2, false],
      ],
    );
    assert.equal(v.find((l) => l.linkId === 'ice-2')!.remote, '[::1]:7');
    assert.equal(v[0]!.upSec, 10);
  });

  test(`at most ${MAX_LINKS_SHOWN} links`, () => {
    const many = Array.from({ length: MAX_LINKS_SHOWN + 30 }, (_, i) => conn(`tls-${i}`, BigInt(i + 1)));
    assert.equal(linkViews(sources(many)).length, MAX_LINKS_SHOWN);
  });
});

describe('storage by kind', () => {
  test('values and bytes per kind, named from the configuration; kinds with no value left out', () => {
    const src: KindScanSource = {
      summaryByKind: () =>
        new Map([
          [99, { values: 1, bytes: 80 }],
          [1, { values: 6, bytes: 900 }],
          [2, { values: 0, bytes: 0 }],
        ]),
      kindName: (k) => (k === 1 ? 'SIP-REGISTRATION' : undefined),
    };
    assert.deepEqual(storageByKind(src), {
      kinds: [
        { kind: 1, name: 'SIP-REGISTRATION', values: 6, bytes: 900 },
        { kind: 99, name: 'kind-99', values: 1, bytes: 80 },
      ],
    });
  });
});

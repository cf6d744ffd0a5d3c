/**
 * The process logger (src/platform/logger.ts): JSON lines when the output is not a terminal,
 * readable lines with ISO times in pretty mode, written synchronously (readable as soon as the
 * call returns), correlation fields kept.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, isLogFormat, resolveLogFormat } from '../../src/platform/logger.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('logger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'p2psip-logger-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Logs through a logger on a file descriptor and returns what the file holds right after (no flush, no wait). */
  function written(name: string, options: Parameters<typeof createLogger>[0], log: (l: ReturnType<typeof createLogger>) => void): string {
    const path = join(dir, name);
    const fd = openSync(path, 'w');
    try {
      log(createLogger({ ...options, fd }));
      return readFileSync(path, 'utf8');
    } finally {
      closeSync(fd);
    }
  }

  test('auto is pretty on a terminal and JSON elsewhere; the names of the flag', () => {
    assert.equal(resolveLogFormat('auto', true), 'pretty');
    assert.equal(resolveLogFormat('auto', false), 'json');
    assert.equal(resolveLogFormat('json', true), 'json');
    assert.equal(resolveLogFormat('pretty', false), 'pretty');
    assert.ok(isLogFormat('auto') && isLogFormat('json') && isLogFormat('pretty'));
    assert.equal(isLogFormat('yaml'), false);
  });

  test('auto on a file: one JSON object per line, ISO time, the correlation fields as keys, written at once', () => {
    const text = written('auto.log', { level: 'debug' }, (l) => {
      l.info({ callId: 'a84b4c76e66710@pc33', tid: '0123456789abcdef' }, 'call: INVITE forwarded');
      l.debug({ tid: 'fedcba9876543210' }, 'reload: fetch answered');
      l.trace({}, 'not at this level');
    });
    const lines = text.trimEnd().split('\n').map((x) => JSON.parse(x) as Record<string, unknown>);
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.msg, 'call: INVITE forwarded');
    assert.equal(lines[0]!.callId, 'a84b4c76e66710@pc33');
    assert.equal(lines[0]!.tid, '0123456789abcdef');
    assert.equal(lines[0]!.level, 30);
    assert.match(String(lines[0]!.time), ISO);
    assert.equal(lines[0]!.pid, undefined, 'no pid/hostname on every line');
    assert.equal(lines[1]!.level, 20);
  });

  test('pretty: readable lines with an ISO time and the level name, no colours off a terminal, written at once', () => {
    const text = written('pretty.log', { format: 'pretty' }, (l) => {
      l.warn({ callId: 'x@y', status: 480 }, 'call: failed');
    });
    const m = /^\[(\S+)\] WARN: call: failed (\{.*\})\n$/.exec(text);
    assert.ok(m !== null, text);
    assert.match(m[1]!, ISO);
    assert.deepEqual(JSON.parse(m[2]!), { callId: 'x@y', status: 480 });
    assert.equal(text.includes('\u001b['), false);
  });

  test('the level is honoured; silent writes nothing', () => {
    assert.equal(written('warn.log', { level: 'warn', format: 'json' }, (l) => l.info({}, 'hidden')), '');
    assert.equal(written('silent.log', { level: 'silent', format: 'pretty' }, (l) => l.error({}, 'hidden')), '');
  });
});

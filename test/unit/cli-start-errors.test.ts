/** `p2psip up` start failures become sentences naming the flag (src/cli/start-errors.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainStartError, type BoundAddress } from '../../src/cli/start-errors.js';

const bound: BoundAddress[] = [
  { flag: '--listen', what: 'the overlay links', port: 6084, argument: '<host:port>' },
  { flag: '--sip', what: 'the SIP front, UDP and TCP', port: 5060, argument: '<host:port>' },
  { flag: '--http', what: 'the dashboard and JSON API', port: 8060, argument: '<host:port> (or --no-http)' },
  { flag: '--media-ports', what: 'the media relay', port: 20000, lastPort: 29999, argument: '<lo-hi>' },
];

test('EADDRINUSE in a message names the flag of that port', () => {
  const err = new Error('cannot bind the overlay UDP port 0.0.0.0:6084: bind EADDRINUSE 0.0.0.0:6084');
  assert.match(explainStartError(err, bound, undefined) ?? '', /^port 6084 \(the overlay links\) is already in use .*--listen <host:port>/);
  const http = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8060'), { code: 'EADDRINUSE', port: 8060 });
  assert.match(explainStartError(http, bound, undefined) ?? '', /--http <host:port> \(or --no-http\)/);
});

test('the cause chain is searched, and a port inside a range finds its flag', () => {
  const inner = Object.assign(new Error('bind EADDRINUSE 0.0.0.0:20002'), { code: 'EADDRINUSE' });
  const err = new Error('media ports: cannot start', { cause: inner });
  assert.match(explainStartError(err, bound, undefined) ?? '', /port 20002 \(the media relay\).*--media-ports <lo-hi>/);
});

test('EACCES on a low port says it needs privileges', () => {
  const err = Object.assign(new Error('listen EACCES: permission denied 0.0.0.0:5060'), { code: 'EACCES' });
  assert.match(explainStartError(err, bound, undefined) ?? '', /needs privileges.*--sip/);
});

test('a data-directory error names --data-dir; unknown errors are left alone', () => {
  const err = Object.assign(new Error("ENOTDIR: not a directory, open '/x/file/api-token'"), { code: 'ENOTDIR' });
  assert.match(explainStartError(err, bound, { flag: '--data-dir', path: '/x/file' }) ?? '', /the data directory \/x\/file is not a directory.*--data-dir <dir>/);
  assert.equal(explainStartError(new Error('something else'), bound, { flag: '--data-dir', path: '/x' }), undefined);
  // a port nobody configured: not ours to explain
  assert.equal(explainStartError(new Error('bind EADDRINUSE 0.0.0.0:1234'), bound, undefined), undefined);
});

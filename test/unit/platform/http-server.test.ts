/**
 * The platform HTTP server (issue 14): no request can throw out of it (a target the URL parser
 * rejects, a handler that throws), and absurd inputs get an explicit 4xx: target length, header
 * section size, query parameter count, announced body size.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startHttpServer, type RunningHttpServer } from '../../../src/platform/http-server.js';
import { rawHttp as raw, httpStatus as statusOf } from '../../support/raw-http.js';

/** Writes `text` on a fresh connection, half-closes, and returns everything the server sent (bounded). */

describe('platform HTTP server: nothing escapes a request', () => {
  let server: RunningHttpServer;
  const seen: string[] = [];
  before(async () => {
    server = await startHttpServer(
      '127.0.0.1',
      0,
      async (method, url, req) => {
        seen.push(`${method} ${url.pathname}`);
        if (url.pathname === '/sync-throw') throw new Error('boom (sync)');
        if (url.pathname === '/async-throw') return Promise.reject(new Error('boom (async)'));
        if (url.pathname === '/bad-header') return { status: 200, body: 'x', contentType: 'text/plain\r\nX-Injected: 1' };
        if (url.pathname === '/bad-status') return { status: 42, body: 'x', contentType: 'text/plain' };
        if (url.pathname === '/echo') return { status: 200, body: JSON.stringify({ host: req.headers['host'], x: req.headers['x-test'], remote: req.remoteAddress, path: url.pathname }), contentType: 'application/json', headers: { 'retry-after': '3' } };
        return { status: 200, body: JSON.stringify({ path: url.pathname, params: [...url.searchParams.keys()].length }), contentType: 'application/json' };
      },
      { limits: { maxTargetBytes: 2048, maxHeaderBytes: 8192, maxQueryParams: 32, maxBodyBytes: 1024 } },
    );
  });
  after(async () => server.close());

  const ok = async (): Promise<void> => {
    const a = await raw(server.port, 'GET /alive HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal(statusOf(a), 200, `the server still answers: ${a.slice(0, 200)}`);
  };

  for (const target of ['//[', 'http://[', '//a:b:c', '//x:99999']) {
    test(`a target the URL parser rejects (${target}) gets 400, and the server keeps answering`, async () => {
      const a = await raw(server.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      assert.equal(statusOf(a), 400, a.slice(0, 300));
      await ok();
    });
  }

  test('a handler that throws (synchronously or not) gets 500, and the server keeps answering', async () => {
    for (const p of ['/sync-throw', '/async-throw']) {
      const a = await raw(server.port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      assert.equal(statusOf(a), 500, a.slice(0, 300));
      assert.doesNotMatch(a, /boom/, 'the exception text is not sent to the client');
    }
    await ok();
  });

  test('a reply that node refuses to write (bad header value, bad status) gets 500, not a crash', async () => {
    for (const p of ['/bad-header', '/bad-status']) {
      const a = await raw(server.port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      assert.equal(statusOf(a), 500, a.slice(0, 300));
      assert.doesNotMatch(a, /X-Injected/i);
    }
    await ok();
  });

  test('a target over maxTargetBytes gets 414 before any handler runs', async () => {
    seen.length = 0;
    const a = await raw(server.port, `GET /${'a'.repeat(3000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    assert.equal(statusOf(a), 414, a.slice(0, 300));
    assert.deepEqual(seen, []);
    await ok();
  });

  test('a header section over maxHeaderBytes gets 431', async () => {
    const a = await raw(server.port, `GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(10_000)}\r\n\r\n`);
    assert.equal(statusOf(a), 431, a.slice(0, 300));
    await ok();
  });

  test('more query parameters than maxQueryParams get 400', async () => {
    seen.length = 0;
    const q = Array.from({ length: 40 }, (_, i) => `p${i}=1`).join('&');
    const a = await raw(server.port, `GET /x?${q} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    assert.equal(statusOf(a), 400, a.slice(0, 300));
    assert.match(a, /query parameters/);
    assert.deepEqual(seen, []);
    const fine = Array.from({ length: 32 }, (_, i) => `p${i}=1`).join('&');
    assert.equal(statusOf(await raw(server.port, `GET /x?${fine} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)), 200);
  });

  test('a body announced over maxBodyBytes gets 413 and the connection is closed', async () => {
    seen.length = 0;
    const a = await raw(server.port, `POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n${'z'.repeat(100)}`);
    assert.equal(statusOf(a), 413, a.slice(0, 300));
    assert.deepEqual(seen, []);
    await ok();
  });

  test('the handler sees the headers and the peer address; its extra headers are sent', async () => {
    const a = await raw(server.port, 'GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Test: yes\r\n\r\n');
    assert.equal(statusOf(a), 200);
    assert.match(a, /retry-after: 3/i);
    assert.match(a, /"host":"127\.0\.0\.1","x":"yes","remote":"127\.0\.0\.1"/);
  });

  test('absolute-form targets must name the Host; authority-form, asterisk-form and //paths get 400', async () => {
    assert.equal(statusOf(await raw(server.port, 'GET http://127.0.0.1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')), 200);
    assert.equal(statusOf(await raw(server.port, 'GET http://evil.example/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')), 400);
    for (const t of ['127.0.0.1:80', '*', '//127.0.0.1/echo', 'echo']) {
      assert.equal(statusOf(await raw(server.port, `GET ${t} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)), 400, t);
    }
  });

  test('two Host headers get 400; a chunked body gets 411 (no route reads a body)', async () => {
    assert.equal(statusOf(await raw(server.port, 'GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n')), 400);
    assert.equal(statusOf(await raw(server.port, 'POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n')), 411);
    await ok();
  });

  test('garbage that is not HTTP gets 400 from the parser; the server keeps answering', async () => {
    for (const junk of ['\x00\x01\x02\r\n\r\n', 'GET\r\n\r\n', 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n']) {
      const a = await raw(server.port, junk);
      assert.ok(a === '' || statusOf(a) >= 400, `${JSON.stringify(junk)} → ${a.slice(0, 100)}`);
    }
    await ok();
  });
});

describe('platform HTTP server: connection cap', () => {
  test('connections past maxConnections are closed at once; the held ones still get answers', async () => {
    const server = await startHttpServer('127.0.0.1', 0, async () => ({ status: 200, body: 'ok', contentType: 'text/plain' }), { limits: { maxConnections: 2 } });
    const held = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<ReturnType<typeof connect>>((resolve) => {
            const s = connect(server.port, '127.0.0.1', () => resolve(s));
            s.on('error', () => undefined);
          }),
      ),
    );
    try {
      // the third is accepted by the kernel and closed by node without an answer
      assert.equal(await raw(server.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'), '');
      const answer = new Promise<string>((resolve) => {
        let got = '';
        held[0]!.setEncoding('latin1');
        held[0]!.on('data', (d: string) => (got += d));
        held[0]!.on('close', () => resolve(got));
      });
      held[0]!.end('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      assert.equal(statusOf(await answer), 200);
    } finally {
      for (const s of held) s.destroy();
      await server.close();
    }
  });
});

/** `p2psip up` with its TLS and WebSocket fronts (RFC 3261 §26.2 TLS, RFC 7118 WS): OPTIONS answered on each. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startPeerProcess, type PeerProcess } from './helpers/peer-process.js';

const TLS = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'tls');

function options(transport: string, local: string, port: number): string {
  return (
    `OPTIONS sip:127.0.0.1:${port};transport=${transport.toLowerCase()} SIP/2.0\r\n` +
    `Via: SIP/2.0/${transport} ${local};branch=z9hG4bK${transport}opt\r\nMax-Forwards: 70\r\n` +
    `From: <sip:probe@127.0.0.1>;tag=t1\r\nTo: <sip:127.0.0.1:${port}>\r\nCall-ID: ${transport}-opt\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`
  );
}

describe('p2psip up: TLS and WebSocket SIP fronts', () => {
  let peer: PeerProcess;
  before(async () => {
    peer = await startPeerProcess([
      '--sip', '127.0.0.1:0', '--sip-tls', '127.0.0.1:0', '--sip-ws', '127.0.0.1:0', '--no-http', '--outbound', 'none',
      '--tls-cert', join(TLS, 'server.pem'), '--tls-key', join(TLS, 'server.key'), '--tls-ca', join(TLS, 'ca.pem'),
    ]);
  });
  after(async () => {
    assert.equal(await peer.stop(), 0);
  });

  test('OPTIONS over TLS gets 200 on the same connection', async () => {
    const { port } = peer.sip.get('tls')!;
    const sock = connect({ host: '127.0.0.1', port, ca: readFileSync(join(TLS, 'ca.pem')) });
    try {
      await new Promise<void>((resolve, reject) => sock.once('secureConnect', resolve).once('error', reject));
      sock.write(options('TLS', `127.0.0.1:${sock.localPort}`, port));
      const text = await new Promise<string>((resolve, reject) => {
        let buf = '';
        const t = setTimeout(() => reject(new Error(`no answer over TLS: ${buf}`)), 5000);
        sock.on('data', (d: Buffer) => {
          buf += d.toString('latin1');
          if (buf.includes('\r\n\r\n')) {
            clearTimeout(t);
            resolve(buf);
          }
        });
      });
      assert.match(text, /^SIP\/2\.0 200 OK\r\n/);
      assert.match(text, /Allow: .*INVITE/);
    } finally {
      sock.destroy();
    }
  });

  test('OPTIONS over WebSocket (subprotocol sip) gets 200 in one WS message', async () => {
    const { port } = peer.sip.get('ws')!;
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, 'sip');
    try {
      await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
      assert.equal(ws.protocol, 'sip');
      const answer = new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no answer over WS')), 5000);
        ws.once('message', (d: Buffer) => {
          clearTimeout(t);
          resolve(d.toString('utf8'));
        });
      });
      ws.send(options('WS', 'abc123.invalid', port));
      assert.match(await answer, /^SIP\/2\.0 200 OK\r\n/);
    } finally {
      ws.close();
    }
  });
});

/** `--log-level trace`: every SIP datagram in and out is logged with its start line, Call-ID and CSeq; nothing else changes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TransportAddress } from '../../../../src/sip/transport/sip-transport.js';
import type { TransportDriver, TransportDriverUser } from '../../../../src/sip/transport/transport-driver.js';
import { TracingTransportDriver, summarize } from '../../../../src/sip/transport/tracing-transport-driver.js';

const A: TransportAddress = { protocol: 'udp', host: '192.0.2.1', port: 5060 };
const B: TransportAddress = { protocol: 'udp', host: '2001:db8::1', port: 5070 };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test('datagrams in and out are traced and passed through unchanged; errors too', async () => {
  let user: TransportDriverUser | undefined;
  const sent: Array<{ to: TransportAddress; data: Uint8Array; onError?: (e: Error) => void }> = [];
  const inner = {
    setUser: (u: TransportDriverUser) => (user = u),
    listen: (_p: string, host: string, port: number) => Promise.resolve({ protocol: 'udp', host, port } as TransportAddress),
    unlisten: () => Promise.resolve(),
    sendDatagram: (_from: TransportAddress, to: TransportAddress, data: Uint8Array, onError?: (e: Error) => void) => sent.push({ to, data, ...(onError ? { onError } : {}) }),
    connect: () => 'c1',
    write: () => {},
    close: () => {},
    shutdown: () => Promise.resolve(),
  } as unknown as TransportDriver;
  const lines: Array<Record<string, unknown>> = [];
  const d = new TracingTransportDriver(inner, { trace: (o) => lines.push(o as Record<string, unknown>) });
  const got: Uint8Array[] = [];
  const opened: string[] = [];
  d.setUser({
    onDatagram: (_l, _r, data) => got.push(data),
    onConnectionOpened: (c) => opened.push(c.id),
    onConnectionFailed: () => {},
    onConnectionClosed: () => {},
    onStreamData: () => {},
    onWsMessage: () => {},
  });
  const invite = enc('INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP x\r\ni: abc@h\r\nCSeq: 1 INVITE\r\n\r\n');
  user!.onDatagram(A, B, invite);
  assert.equal(got[0], invite);
  let failed: Error | undefined;
  d.sendDatagram(A, B, enc('SIP/2.0 200 OK\r\nCall-ID: abc@h\r\nCSeq: 1 INVITE\r\n\r\n'), (e) => (failed = e));
  sent[0]!.onError!(new Error('unreachable'));
  assert.equal(failed?.message, 'unreachable');
  user!.onConnectionOpened({ id: 'c9', protocol: 'tcp', local: A, remote: B, outbound: true });
  assert.deepEqual(opened, ['c9'], 'stream events reach the user unchanged');
  assert.deepEqual(lines.map((l) => [l['dir'], l['line'], l['callId'], l['cseq']]), [
    ['in', 'INVITE sip:bob@example.com SIP/2.0', 'abc@h', '1 INVITE'],
    ['out', 'SIP/2.0 200 OK', 'abc@h', '1 INVITE'],
    ['out', 'SIP/2.0 200 OK', 'abc@h', '1 INVITE'],
  ]);
  assert.equal(lines[0]!['from'], '[2001:db8::1]:5070');
  assert.equal(lines[2]!['err'], 'unreachable');
});

test('the summary is bounded: long lines cut, only the head scanned, garbage harmless', () => {
  const long = summarize(enc(`MESSAGE sip:${'x'.repeat(5000)} SIP/2.0\r\n\r\n`));
  assert.equal(long.line.length, 200);
  assert.equal(long.callId, undefined);
  const late = summarize(enc(`OPTIONS sip:a SIP/2.0\r\nX: ${'y'.repeat(3000)}\r\nCall-ID: late\r\n\r\n`));
  assert.equal(late.callId, undefined, 'a Call-ID past the scanned head is not looked for');
  const junk = summarize(Uint8Array.of(0, 255, 13, 10, 13, 10));
  assert.equal(junk.bytes, 6);
});

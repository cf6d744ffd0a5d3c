/**
 * Wireshark's own RELOAD dissector judges our RELOAD envelope (RFC 6940 §6.3, §6.6.2): messages
 * encoded by src/reload/codec are framed and sent over a TCP connection on loopback, captured with
 * tshark, and dissected with `reload-framing`. Every message must decode with the transaction ID,
 * TTL, message code and error code we wrote, with no malformed packet and no expert warning.
 * (Plain TCP for now: the TLS overlay link, and decryption with a key log, come with issue 3's links.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { withScope } from '../../harness/process-scope.js';
import { requireTools } from '../../harness/require-tools.js';
import { PROBLEM_FILTER, startCapture, tsharkLines } from './helpers/tshark.js';
import {
  encodeChordUpdate,
  encodeErrorResponse,
  encodePingAns,
  encodeSipRegistration,
  encodeStoreReq,
  encodeFramedMessage,
  encodeReloadMessage,
  MessageCode,
  ReloadErrorCode,
  UNFRAGMENTED,
  type Destination,
  type ReloadMessage,
} from '../../src/reload/codec/index.js';

const TEST_TIMEOUT_MS = 60_000;

function nodeId(fill: number): Destination {
  return { type: 'node', nodeId: new Uint8Array(16).fill(fill) };
}

function message(txId: bigint, code: number, body: Uint8Array, extra: Partial<ReloadMessage['header']> = {}): ReloadMessage {
  return {
    header: {
      overlay: 0x12345678,
      configurationSequence: 3,
      version: 10,
      ttl: 100,
      fragment: UNFRAGMENTED,
      length: 0,
      transactionId: txId,
      maxResponseLength: 0,
      viaList: [],
      destinationList: [nodeId(0xaa)],
      options: [],
      ...extra,
    },
    contents: { messageCode: code, body, extensions: [] },
    securityBlock: {
      certificates: [],
      signature: {
        algorithm: { hash: 4, signature: 1 }, // sha256, rsa
        identity: { type: 'cert_hash', hashAlg: 4, certificateHash: new Uint8Array(32).fill(7) },
        signatureValue: new Uint8Array(64).fill(9),
      },
    },
  };
}

/** PingReq (§6.5.3): opaque padding<0..2^16-1>, empty. */
const PING_BODY = new Uint8Array([0, 0]);

test('tshark decodes RELOAD messages from our codec without a malformed packet or warning', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['tshark'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir();
    const port = await scope.port();
    const pcap = join(dir, 'reload.pcapng');
    const capture = await startCapture(scope, { file: pcap, ports: [port], lifetimeMs: TEST_TIMEOUT_MS });

    const messages: Array<{ txId: bigint; code: number; ttl: number; errorCode?: number }> = [];
    const frames: Uint8Array[] = [];
    const add = (m: ReloadMessage, errorCode?: number): void => {
      frames.push(encodeFramedMessage({ type: 'data', sequence: frames.length + 1, message: encodeReloadMessage(m) }));
      messages.push({ txId: m.header.transactionId, code: m.contents.messageCode, ttl: m.header.ttl, ...(errorCode !== undefined ? { errorCode } : {}) });
    };
    add(message(0x0102030405060708n, MessageCode.ping_req, PING_BODY));
    // Via list and a destination list ending in a Resource-ID (§6.3.2.2).
    add(
      message(0x1111222233334444n, MessageCode.ping_req, PING_BODY, {
        ttl: 7,
        viaList: [nodeId(0x01), nodeId(0x02)],
        destinationList: [nodeId(0xbb), { type: 'resource', resourceId: new Uint8Array(16).fill(0x33) }],
      }),
    );
    add(
      message(0x5555666677778888n, MessageCode.error, encodeErrorResponse({ errorCode: ReloadErrorCode.NotFound, errorInfo: new TextEncoder().encode('no such resource') })),
      ReloadErrorCode.NotFound,
    );
    add(message(0x0fedcba987654321n, MessageCode.ping_req, PING_BODY, { configurationSequence: 65535, ttl: 1 }));
    // Method bodies: PingAns, a CHORD-RELOAD Update, and a StoreReq of a SIP-REGISTRATION (Kind 1,
    // dictionary keyed by Node-ID, RFC 7904) whose value routes to a Node-ID.
    add(message(0x2222000000000001n, MessageCode.ping_ans, encodePingAns({ responseId: 0x0102030405060708n, time: 1_790_000_000_000n })));
    const peer = (b: number): Uint8Array => new Uint8Array(16).fill(b);
    add(
      message(0x2222000000000002n, MessageCode.update_req, encodeChordUpdate({ uptime: 3600, type: 'full', predecessors: [peer(1)], successors: [peer(2), peer(3)], fingers: [peer(4)] })),
    );
    const registration = encodeSipRegistration({ type: 'route', contactPrefs: new Uint8Array(0), destinationList: [nodeId(0x44)] });
    const store = encodeStoreReq(
      {
        resource: new Uint8Array(20).fill(0x5a),
        replicaNumber: 0,
        kindData: [
          {
            kind: 1,
            generationCounter: 7n,
            values: [
              {
                storageTime: 1_790_000_000_000n,
                lifetime: 3600,
                value: { model: 'dictionary', key: peer(0x44), value: { exists: true, value: registration } },
                signature: message(0n, 0, PING_BODY).securityBlock.signature,
              },
            ],
          },
        ],
      },
      { dataModelOf: (kind) => (kind === 1 ? 'dictionary' : undefined) },
    );
    add(message(0x2222000000000003n, MessageCode.store_req, store));

    // One TCP connection on loopback carries the frames (and an ACK frame back, §6.6.2).
    const server: Server = createServer((sock) => {
      sock.on('data', () => {});
      sock.write(encodeFramedMessage({ type: 'ack', ackSequence: 1, received: 0 }));
      sock.on('end', () => sock.end());
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const send = (payload: Uint8Array[]): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const c = connect(port, '127.0.0.1', () => {
          for (const f of payload) c.write(f);
          c.end();
        });
        c.on('error', reject);
        c.on('close', () => resolve());
        c.on('data', () => {});
      });
    try {
      // startCapture returned once its marker was in the file: dumpcap captures
      await send(frames);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await capture.stop(); // marks first: our frames are in the file

    const decodeAs = ['-d', `tcp.port==${port},reload-framing`];
    const fields = await tsharkLines(scope, [
      '-r', pcap, '-n', ...decodeAs, '-Y', 'reload', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,',
      '-e', 'reload.forwarding.trans_id', '-e', 'reload.forwarding.ttl', '-e', 'reload.message.code', '-e', 'reload.error_response.code',
    ]);
    const rows = fields.filter((line) => /^(0x[0-9a-fA-F]+|\d+)[\t,]/.test(line));
    const decoded = rows.flatMap((line) => {
      const [tx, ttl, code, err] = line.split('\t');
      const txs = (tx ?? '').split(',');
      const ttls = (ttl ?? '').split(',');
      const codes = (code ?? '').split(',');
      return txs.filter((x) => x !== '').map((x, i) => ({ tx: BigInt(x), ttl: Number(ttls[i]), code: Number(codes[i]), err: err ?? '' }));
    });
    t.diagnostic(`tshark decoded ${decoded.length} RELOAD messages (trans_id ttl code error): ${rows.join(' | ')}`);
    for (const m of messages) {
      const d = decoded.find((x) => x.tx === m.txId);
      assert.ok(d, `transaction ${m.txId.toString(16)} decoded by tshark`);
      assert.equal(d.ttl, m.ttl, 'TTL');
      assert.equal(d.code, m.code, 'message code');
      if (m.errorCode !== undefined) assert.match(d.err, new RegExp(`\\b${m.errorCode}\\b`), 'error code');
    }
    // The bodies are dissected too: the StoreReq's Kind, lifetime and SIP-REGISTRATION type, the Update's type.
    const bodies = (
      await tsharkLines(scope, [
        '-r', pcap, '-n', ...decodeAs, '-Y', 'reload.kinddata || reload.chordupdate', '-T', 'fields', '-E', 'separator=/t',
        '-e', 'reload.kinddata.kind', '-e', 'reload.storeddata.lifetime', '-e', 'reload.sipregistration.type', '-e', 'reload.chordupdate.type',
      ])
    ).filter((l) => /^[\d\t]/.test(l));
    t.diagnostic(`bodies (kind lifetime sip-registration-type chord-update-type): ${bodies.join(' | ')}`);
    assert.ok(bodies.some((l) => /^1\t3600\t2\t/.test(l)), 'StoreReq: Kind 1, lifetime 3600, sip_registration_route (2)');
    assert.ok(bodies.some((l) => /\t3$/.test(l)), 'Update: ChordUpdateType full (3)');
    const problems = await tsharkLines(scope, [
      '-r', pcap, '-n', ...decodeAs, '-Y', PROBLEM_FILTER, '-T', 'fields', '-E', 'separator=/t',
      '-e', 'frame.number', '-e', '_ws.col.Info', '-e', '_ws.expert.message',
    ]);
    assert.deepEqual(problems.filter((l) => /^\d+\t/.test(l)), [], 'no malformed RELOAD and no expert warning');
  });
});

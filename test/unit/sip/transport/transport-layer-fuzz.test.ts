import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../../src/lib/random.js';
import { DEFAULT_SIP_LIMITS } from '../../../../src/sip/message/sip-message.js';
import { Harness, SERVER_V4, enc, request, response } from './layer-harness.js';

/** Mutates a valid message: flips, inserts and deletes bytes, sometimes around the framing. */
function mutate(rnd: SeededRandom, base: Uint8Array): Uint8Array {
  const out = Array.from(base);
  const edits = 1 + (rnd.u32() % 6);
  const specials = enc.encode('\r\n:;,<>"[]=\x00\xff0123456789 ');
  for (let e = 0; e < edits; e++) {
    const at = rnd.u32() % (out.length + 1);
    const b = specials[rnd.u32() % specials.length]!;
    switch (rnd.u32() % 3) {
      case 0:
        if (at < out.length) out[at] = b;
        break;
      case 1:
        out.splice(at, 0, b);
        break;
      default:
        out.splice(at, 1 + (rnd.u32() % 8));
    }
  }
  return Uint8Array.from(out);
}

test('mutated messages over udp, tcp and ws never throw, hang or leak connections', async () => {
  const h = new Harness({ limits: { ...DEFAULT_SIP_LIMITS, maxMessageBytes: 4000, maxHeaderBytes: 2000, maxBodyBytes: 3000 } });
  await h.layer.listen('udp', '0.0.0.0', 5060);
  await h.layer.listen('tcp', '0.0.0.0', 5060);
  await h.layer.listen('ws', '0.0.0.0', 80);
  const from = await h.peerUdp(5070);
  const rnd = new SeededRandom(7);
  const seeds = [
    request({ body: 'v=0\r\n', via: 'SIP/2.0/UDP [2001:db8::1]:5070;rport;branch=z9hG4bK-f' }),
    request({ transport: 'TCP', extra: 'Via: SIP/2.0/TCP a.example.com;branch=z9hG4bK-2, SIP/2.0/UDP b;branch=z9hG4bK-3\r\n' }),
    response(180, { body: 'x' }),
  ].map((s) => enc.encode(s));
  for (let round = 0; round < 300; round++) {
    const data = mutate(rnd, seeds[round % seeds.length]!);
    h.peer.sendDatagram({ protocol: 'udp', host: '0.0.0.0', port: from.port }, { protocol: 'udp', host: SERVER_V4, port: 5060 }, data);
    const tcp = h.peer.connect({ protocol: 'tcp', host: SERVER_V4, port: 5060 });
    const ws = h.peer.connect({ protocol: 'ws', host: SERVER_V4, port: 80 });
    h.settle();
    for (let i = 0; i < data.length; i += 1 + (rnd.u32() % 40)) h.peer.write(tcp, data.subarray(i, i + 40));
    h.peer.write(ws, data);
    h.settle();
    h.peer.close(tcp);
    h.peer.close(ws);
    h.settle();
  }
  const s = h.layer.stats();
  assert.deepEqual(h.warnings.filter((w) => w.includes('handler failed')), []);
  assert.equal(s.openConnections, 0);
  assert.ok(s.received > 0 && s.parseErrors > 0, JSON.stringify(s));
});

/**
 * RFC 6940 §10.9 Leave (issue 14, shutdown): the peer asked to Leave answers before it drops the
 * link to the leaving peer. It used to close the link first, so the answer had no way back and
 * every clean stop waited out the Leave's 2 s timer.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageCode } from '../../../../src/reload/codec/index.js';
import { OverlayWorld, flush } from './support/overlay-world.js';

describe('Leave (RFC 6940 §10.9)', () => {
  for (const size of [2, 3]) {
    test(`in a ring of ${size}: every Leave is answered before the link closes; leave() ends at once`, async () => {
      const w = new OverlayWorld(11 + size);
      for (let i = 0; i < size; i++) await w.add();
      await w.run(3000);
      const leaver = w.nodes[0]!;
      // what the leaving node hears back for its Leave requests, and when its links go down
      const answers: Array<{ ok: boolean; at: number }> = [];
      const linkDowns: number[] = [];
      const request = leaver.node.request.bind(leaver.node);
      leaver.node.request = async (dest, code, body, opts) => {
        const a = await request(dest, code, body, opts);
        if (code === MessageCode.leave_req) answers.push({ ok: a.ok, at: w.clock.now() });
        return a;
      };
      leaver.node.events.on('link-down', () => linkDowns.push(w.clock.now()));
      const t0 = w.clock.now();
      let leftAt: number | undefined;
      void leaver.node.leave().then(() => (leftAt = w.clock.now()));
      for (let t = 0; t < 5000 && leftAt === undefined; t += 5) {
        w.clock.advance(5);
        await flush();
      }
      assert.ok(leftAt !== undefined, 'leave() ended');
      assert.equal(answers.length, size - 1, 'one Leave per other peer');
      assert.ok(answers.every((a) => a.ok), `every Leave answered: ${JSON.stringify(answers)}`);
      // a few one-way latencies (10 ms), far from the 2,000 ms Leave timer
      assert.ok(leftAt - t0 < 200, `leave() took ${leftAt - t0} ms`);
      for (const d of linkDowns) assert.ok(answers.every((a) => a.at <= d), 'no link went down before the answers came');
      for (const n of w.nodes.slice(1)) assert.ok(!n.node.topology.neighbours.has(leaver.node.id), 'the leaver is gone from the tables');
    });
  }
});

import { withScope } from './harness/process-scope.js';
import { DialogPhone } from './harness/dialog-phone.js';
import { startOverlayPeers } from './harness/overlay-peers.js';
import { writeFileSync } from 'node:fs';

await withScope(async (scope) => {
  const [a, b] = await startOverlayPeers(scope, { count: 2, lifetimeMs: 300_000, logLevel: (process.env.LVL as 'debug') ?? 'debug' });
  const callee = await DialogPhone.open('callee1', 'p2psip.local', { host: '127.0.0.1', port: b!.port });
  console.log('register', await callee.register(3600));
  const caller = await DialogPhone.open('caller', 'p2psip.local', { host: '127.0.0.1', port: a!.port });
  await new Promise((r) => setTimeout(r, 1000));
  const rings: number[] = [];
  const marks: string[] = [];
  const n = Number(process.env.N ?? 20);
  for (let k = 0; k < n; k++) {
    const t0 = Date.now();
    const r = await caller.call(callee.aor, 10_000);
    marks.push(`${t0} call ${k} ring ${r.ringMs?.toFixed(2)} status ${r.status}`);
    if (r.ringMs !== undefined) rings.push(r.ringMs);
    await new Promise((res) => setTimeout(res, 100));
  }
  rings.sort((x, y) => x - y);
  console.log('median', rings[Math.floor(rings.length / 2)], 'all', rings.map((x) => x.toFixed(1)).join(' '));
  writeFileSync('/tmp/pdd-a.log', a!.process.lines().join('\n'));
  writeFileSync('/tmp/pdd-b.log', b!.process.lines().join('\n'));
  writeFileSync('/tmp/pdd-marks.log', marks.join('\n'));
  callee.close();
  caller.close();
});

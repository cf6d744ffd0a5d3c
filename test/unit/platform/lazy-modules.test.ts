// Issue 17 (idle memory): the packages a peer needs only for some configurations are loaded when
// that configuration needs them, not when the peer's modules are imported. Each check runs in a
// child node (a fresh module registry) preloaded with a probe that reports every package a module is
// loaded from (CommonJS and ES modules alike).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const PROBE = `
const Module = require('node:module');
const note = (where) => {
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(String(where));
  if (m !== null) process.stderr.write('lazy-probe-loaded ' + m[1] + '\\n');
};
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (...a) { const r = resolveFilename.apply(this, a); note(r); return r; };
Module.register('data:text/javascript,' + encodeURIComponent(
  "export async function resolve(s, c, next) { const r = await next(s, c); const m = /node_modules\\\\/((?:@[^/]+\\\\/)?[^/]+)/.exec(r.url); if (m !== null) process.stderr.write('lazy-probe-loaded ' + m[1] + '\\\\n'); return r; }"));
`;

/** The packages loaded while `script` (an ES module, run from the repository root) runs. */
function packagesLoadedBy(probe: string, script: string): Set<string> {
  const r = spawnSync(process.execPath, ['--require', probe, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `the child failed: ${r.stderr}`);
  return new Set([...r.stderr.matchAll(/^lazy-probe-loaded (\S+)$/gm)].map((m) => m[1]!));
}

// the modules behind the command line's `up`, and the barrels the command line imports
const IMPORT_PEER = `
await import('./src/node/run-peer.ts');
await import('./src/platform/logger.ts');
await import('./src/reload/security/index.ts');
await import('./src/reload/config/index.ts');
await import('./src/platform/lan-discovery.ts');
await import('./src/platform/dtls-channel-factory.ts');
`;

const LAZY = ['ws', 'werift-dtls', 'fast-xml-parser', '@peculiar/x509', 'reflect-metadata', 'tsyringe', 'pino-pretty', 'multicast-dns'];

test('importing the peer loads none of the packages only some configurations need', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p2psip-lazy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const probe = join(dir, 'probe.cjs');
  writeFileSync(probe, PROBE);
  const loaded = packagesLoadedBy(probe, IMPORT_PEER);
  // what every peer needs is there (the probe sees packages at all)
  for (const p of ['lmdb', 'pino', 'prom-client']) assert.ok(loaded.has(p), `${p} should be loaded: ${[...loaded].join(' ')}`);
  for (const p of LAZY) assert.ok(!loaded.has(p), `${p} is loaded by merely importing the peer`);
});

test('each lazily loaded package is loaded, and works, once its feature is used', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p2psip-lazy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const probe = join(dir, 'probe.cjs');
  writeFileSync(probe, PROBE);
  const loaded = packagesLoadedBy(
    probe,
    `${IMPORT_PEER}
const assert = (await import('node:assert/strict')).default;
const { readFileSync } = await import('node:fs');
// an overlay configuration document: fast-xml-parser
const { parseOverlayConfiguration } = await import('./src/reload/config/index.ts');
const parsed = parseOverlayConfiguration(readFileSync('test/unit/reload/config/rfc6940-example.xml', 'utf8'));
assert.equal(parsed.ok, true);
// a new identity: @peculiar/x509 (with reflect-metadata and tsyringe)
const { createSelfSignedIdentity } = await import('./src/reload/security/index.ts');
const { CryptoRandom } = await import('./src/platform/crypto-random.ts');
const identity = await createSelfSignedIdentity({ userName: 'lazy@p2psip.local', overlay: 'p2psip.local', random: new CryptoRandom(), now: Date.now(), algorithm: 'ecdsa-p256' });
assert.ok(identity.certificate.der.length > 0);
// the pretty log format: pino-pretty
const { createLogger } = await import('./src/platform/logger.ts');
createLogger({ format: 'pretty', fd: 2, level: 'silent' });
// DTLS for ICE links: werift-dtls
const { weriftDtls } = await import('./src/platform/werift-dtls-module.ts');
assert.equal(typeof weriftDtls().DtlsClient, 'function');
// SIP over WebSocket: ws
const { wsModule } = await import('./src/platform/ws-module.ts');
assert.equal(typeof wsModule().WebSocketServer, 'function');
// LAN discovery: multicast-dns (the import only; no socket is opened here)
await import('multicast-dns');
`,
  );
  for (const p of LAZY) assert.ok(loaded.has(p), `${p} was not loaded by its feature: ${[...loaded].join(' ')}`);
});

/**
 * Issue 15: what a peer keeps on disk is its own — the LMDB store (users' HA1s) and the
 * registrations environment are 0700 directories with 0600 files; an existing data directory open
 * to others is narrowed to 0700 when it is a peer's (key.pem in it) and not a sticky shared one.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbStorageBackend } from '../../../src/platform/lmdb-storage-backend.js';
import { LmdbRecordStores } from '../../../src/platform/lmdb-record-stores.js';
import { narrowDataDir } from '../../../src/platform/identity-store.js';

const root = mkdtempSync(join(tmpdir(), 'p2psip-modes-'));
after(() => rmSync(root, { recursive: true, force: true }));
const mode = (p: string): number => statSync(p).mode & 0o7777;

describe('data directory modes', () => {
  test('the LMDB store and the registrations environment: 0700 directories, 0600 files', async () => {
    const store = join(root, 'store');
    mkdirSync(store, { mode: 0o755 });
    chmodSync(store, 0o755);
    const b = LmdbStorageBackend.open(store);
    b.batch([{ type: 'put', key: Uint8Array.of(1), value: Uint8Array.of(2) }]);
    await b.flush();
    assert.equal(mode(store), 0o700);
    for (const f of readdirSync(store)) assert.equal(mode(join(store, f)), 0o600, f);
    await b.close();
    const regs = join(root, 'registrations');
    const r = LmdbRecordStores.open(regs);
    assert.equal(mode(regs), 0o700);
    for (const f of readdirSync(regs)) assert.equal(mode(join(regs, f)), 0o600, f);
    await r.close();
  });

  test("a peer's data directory open to others is narrowed; other directories are left alone", async () => {
    const peer = join(root, 'peer');
    mkdirSync(peer);
    chmodSync(peer, 0o755);
    assert.equal(await narrowDataDir(peer), false, 'no key.pem: not known to be ours');
    writeFileSync(join(peer, 'key.pem'), 'x', { mode: 0o600 });
    assert.equal(await narrowDataDir(peer), true);
    assert.equal(mode(peer), 0o700);
    assert.equal(await narrowDataDir(peer), false, 'already private');
    const shared = join(root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    writeFileSync(join(shared, 'key.pem'), 'x');
    assert.equal(await narrowDataDir(shared), false, 'a sticky shared directory (like /tmp)');
    assert.equal(mode(shared), 0o1777);
    assert.equal(await narrowDataDir(join(root, 'missing')), false);
  });
});

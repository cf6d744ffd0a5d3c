import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_TOKEN_FILE, ephemeralApiToken, loadOrCreateApiToken } from '../../../src/platform/api-token.js';
import { P2psipError } from '../../../src/lib/errors.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'p2psip-token-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('API token: made at first start (256 bits, hex), file 0600 in a 0700 directory, reused after', () =>
  withDir(async (dir) => {
    const data = join(dir, 'data');
    const first = await loadOrCreateApiToken(data);
    assert.equal(first.created, true);
    assert.match(first.token, /^[0-9a-f]{64}$/);
    assert.equal(first.file, join(data, API_TOKEN_FILE));
    assert.equal((await stat(first.file!)).mode & 0o777, 0o600);
    assert.equal((await stat(data)).mode & 0o777, 0o700);
    assert.equal((await readFile(first.file!, 'utf8')).trim(), first.token);
    const again = await loadOrCreateApiToken(data);
    assert.deepEqual(again, { ...first, created: false });
    assert.deepEqual(await readdir(data), [API_TOKEN_FILE], 'no temporary file left');
  }));

test('API token: concurrent first starts agree on one token (atomic creation)', () =>
  withDir(async (dir) => {
    const all = await Promise.all(Array.from({ length: 16 }, () => loadOrCreateApiToken(dir)));
    assert.equal(new Set(all.map((t) => t.token)).size, 1);
    assert.ok(all.filter((t) => t.created).length <= 1);
    assert.deepEqual(await readdir(dir), [API_TOKEN_FILE]);
  }));

test('API token: a kept file readable by others is made 0600; a file holding no token is an error that says what to do', () =>
  withDir(async (dir) => {
    const file = join(dir, API_TOKEN_FILE);
    await writeFile(file, `${'0f'.repeat(16)}\n`);
    await chmod(file, 0o644);
    assert.equal((await loadOrCreateApiToken(dir)).token, '0f'.repeat(16));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    for (const bad of ['', 'short', 'ZZ'.repeat(20), '0f'.repeat(8)]) {
      await writeFile(file, bad);
      await assert.rejects(loadOrCreateApiToken(dir), (e: unknown) => e instanceof P2psipError && e.code === 'API_TOKEN' && /remove it/.test(e.message), bad);
    }
  }));

test('API token: a token of this run only differs each time', () => {
  const a = ephemeralApiToken();
  assert.equal(a.file, undefined);
  assert.match(a.token, /^[0-9a-f]{64}$/);
  assert.notEqual(ephemeralApiToken().token, a.token);
});

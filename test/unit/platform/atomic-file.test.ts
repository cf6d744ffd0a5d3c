/** writeFileAtomic: many writes to one path at once all succeed, and the last one's data stays. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../src/platform/atomic-file.js';

test('concurrent writes to one path: none fails, the last call wins, no temp file is left', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'p2psip-atomic-'));
  try {
    const path = join(dir, 'node-ids.json');
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeFileAtomic(path, `v${i}\n`, 0o600)));
    assert.equal(readFileSync(path, 'utf8'), 'v19\n');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['node-ids.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed write does not block the next one for the same path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'p2psip-atomic-'));
  try {
    const bad = writeFileAtomic(join(dir, 'missing-dir', 'f'), 'x', 0o600);
    await assert.rejects(bad, /ENOENT/);
    await writeFileAtomic(join(dir, 'f'), 'ok', 0o644);
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'ok');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../../../src/lib/random.js';
import { createSelfSignedIdentity, toHex } from '../../../src/reload/security/index.js';
import {
  loadConfigurationDocument,
  loadIdentity,
  loadOrCreateIdentity,
  saveConfigurationDocument,
} from '../../../src/platform/identity-store.js';

test('identity store: create once, load after, key file 0600', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'p2psip-id-'));
  try {
    const data = join(dir, 'sub');
    let calls = 0;
    const create = async () => {
      calls++;
      return createSelfSignedIdentity({ overlay: 'o.test', userName: 'a@o.test', now: Date.now(), random: new SeededRandom(calls), algorithm: 'ecdsa-p256' });
    };
    const first = await loadOrCreateIdentity(data, create);
    assert.equal(first.created, true);
    const again = await loadOrCreateIdentity(data, create);
    assert.equal(again.created, false);
    assert.equal(calls, 1);
    assert.deepEqual(again.identity.certificate.nodeIds, first.identity.certificate.nodeIds);
    assert.equal((await stat(join(data, 'key.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(data)).mode & 0o777, 0o700);
    assert.equal((await readFile(join(data, 'node-id'), 'utf8')).trim(), toHex(first.identity.certificate.nodeIds[0]!));
    // a rejected identity is replaced
    const replaced = await loadOrCreateIdentity(data, create, { accept: () => false });
    assert.equal(replaced.created, true);
    assert.equal(calls, 2);
    await saveConfigurationDocument(data, '<overlay/>');
    assert.equal(await loadConfigurationDocument(data), '<overlay/>');
    assert.equal(await loadConfigurationDocument(join(dir, 'none')), undefined);
    assert.equal(await loadIdentity(join(dir, 'none')), undefined);
    // a key that does not match the certificate is an error, not a silent new identity
    const other = await create();
    await writeFile(join(data, 'key.pem'), other.keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    await assert.rejects(loadIdentity(data), /does not match/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

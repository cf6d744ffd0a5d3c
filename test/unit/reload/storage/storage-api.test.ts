import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStorageApi } from '../../../../src/node/storage-api.js';
import { StorageWorld } from '../overlay/support/storage-world.js';

test('storage debug routes: store, fetch, stat, held, replay refused, bad input answered 4xx', async () => {
  const w = new StorageWorld(21);
  for (let i = 0; i < 5; i++) await w.add();
  await w.run(3000);
  const a = w.peers[1]!;
  const api = createStorageApi(a.storage);
  const call = async (method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const r = await w.settle(api(method, new URL(`http://x${path}`)));
    assert.ok(r, `${path} handled`);
    return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> };
  };
  const name = encodeURIComponent(a.identity.certificate.userName);
  assert.equal(await w.settle(api('GET', new URL('http://x/api/status'))), undefined);
  let r = await call('POST', `/api/storage/store?kind=100&name=${name}&value=v1`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await call('GET', `/api/storage/fetch?kind=100&name=${name}`);
  assert.equal(r.status, 200);
  assert.equal((r.body.values as Array<{ value: string }>)[0]!.value, 'v1');
  await w.run(100);
  r = await call('POST', `/api/storage/store?kind=100&name=${name}&value=v2`);
  assert.equal(r.status, 200);
  r = await call('POST', `/api/storage/replay?kind=100&name=${name}`);
  assert.equal(r.status, 409);
  assert.equal(r.body.errorCode, 9); // Error_Data_Too_Old
  r = await call('GET', `/api/storage/stat?kind=100&name=${name}`);
  assert.equal(r.status, 200);
  assert.equal((r.body.values as Array<{ valueLength: number }>)[0]!.valueLength, 2);
  const id = r.body.id as string;
  await w.run(1000);
  let held = 0;
  for (const p of w.peers) {
    const h = await w.settle(createStorageApi(p.storage)('GET', new URL(`http://x/api/storage/held?id=${id}`)));
    if ((JSON.parse(h!.body) as { held: boolean }).held) held++;
  }
  assert.equal(held, 3);
  r = await call('POST', `/api/storage/store?kind=100&name=someone-else&value=x`);
  assert.equal(r.status, 409);
  assert.equal(r.body.errorCode, 2); // Error_Forbidden
  assert.equal((await call('GET', '/api/storage/fetch?kind=100')).status, 400);
  assert.equal((await call('GET', '/api/storage/fetch?kind=999&name=x')).status, 400);
  assert.equal((await call('GET', '/api/storage/fetch?kind=100&id=zz')).status, 400);
  assert.equal((await call('GET', '/api/storage/store?kind=100&name=x')).status, 405);
  assert.equal((await call('GET', '/api/storage/nope?kind=100&name=x')).status, 404);
  r = await call('GET', '/api/storage');
  assert.equal(r.status, 200);
  assert.ok(typeof r.body.resources === 'number');
  const none = await createStorageApi(undefined)('GET', new URL('http://x/api/storage'));
  assert.equal(none?.status, 404);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { HashAlgorithm, SignatureAlgorithm } from '../../../../src/reload/codec/index.js';
import { SignatureMemo, signBytes, signatureMemo, verifyBytes } from '../../../../src/reload/security/index.js';

const ECDSA = { hash: HashAlgorithm.sha256, signature: SignatureAlgorithm.ecdsa };
const ec = (): { privateKey: KeyObject; publicKey: KeyObject } => generateKeyPairSync('ec', { namedCurve: 'P-256' });

test('a signature made here is recognised for its exact key, bytes and signature only', () => {
  const memo = new SignatureMemo(16);
  const a = ec();
  const b = ec();
  const data = new Uint8Array([1, 2, 3, 4, 5]);
  const sig = new Uint8Array([9, 8, 7, 6]);
  memo.remember(a.privateKey, data, sig);
  assert.equal(memo.madeHere(a.publicKey, data, sig), true, 'same key (public half), same bytes, same signature');
  assert.equal(memo.madeHere(b.publicKey, data, sig), false, 'another key');
  assert.equal(memo.madeHere(a.publicKey, new Uint8Array([1, 2, 3, 4, 6]), sig), false, 'one data byte changed');
  assert.equal(memo.madeHere(a.publicKey, data, new Uint8Array([9, 8, 7, 7])), false, 'one signature byte changed');
  // the split between data and signature is part of the key
  assert.equal(memo.madeHere(a.publicKey, new Uint8Array([1, 2, 3, 4, 5, 9]), new Uint8Array([8, 7, 6])), false, 'the same bytes split differently');
  assert.equal(memo.hits, 1);
});

test('the memo is bounded: the oldest signature is forgotten first', () => {
  const memo = new SignatureMemo(3);
  const a = ec();
  const sigs = [1, 2, 3, 4].map((i) => new Uint8Array([i]));
  const data = new Uint8Array([42]);
  for (const s of sigs) memo.remember(a.privateKey, data, s);
  assert.equal(memo.size, 3);
  assert.equal(memo.madeHere(a.publicKey, data, sigs[0]!), false, 'the first was forgotten');
  for (const s of sigs.slice(1)) assert.equal(memo.madeHere(a.publicKey, data, s), true);
  assert.throws(() => new SignatureMemo(-1), RangeError);
  const off = new SignatureMemo(0);
  off.remember(a.privateKey, data, sigs[0]!);
  assert.equal(off.madeHere(a.publicKey, data, sigs[0]!), false, 'capacity 0: nothing remembered');
});

test('verifyBytes answers from the memo for our own signatures and still refuses every altered one', () => {
  signatureMemo.clear();
  const a = ec();
  const data = new TextEncoder().encode('a StoreReq signed here');
  const sig = signBytes(a.privateKey, data);
  assert.equal(verifyBytes(ECDSA, a.publicKey, data, sig), true);
  assert.equal(signatureMemo.hits, 1, 'our own signature was not verified again');
  const altered = Uint8Array.from(data);
  altered[0]! ^= 1;
  assert.equal(verifyBytes(ECDSA, a.publicKey, altered, sig), false, 'altered data');
  const badSig = Uint8Array.from(sig);
  badSig[badSig.length - 1]! ^= 1;
  assert.equal(verifyBytes(ECDSA, a.publicKey, data, badSig), false, 'altered signature');
  assert.equal(verifyBytes(ECDSA, ec().publicKey, data, sig), false, 'another key');
  assert.equal(verifyBytes({ hash: HashAlgorithm.sha256, signature: SignatureAlgorithm.rsa }, a.publicKey, data, sig), false, 'the algorithm is still checked first');
  assert.equal(signatureMemo.hits, 1);
  // a signature made elsewhere (another process: not in the memo) is verified for real
  signatureMemo.clear();
  assert.equal(verifyBytes(ECDSA, a.publicKey, data, sig), true);
  assert.equal(signatureMemo.hits, 0);
});

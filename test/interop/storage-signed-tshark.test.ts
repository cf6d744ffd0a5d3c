/**
 * Signed RELOAD of a real enrolled overlay, judged by Wireshark (issue 5): 10 peer processes
 * (enroll-server child with an ECDSA CA, CA-issued peer certificates, mutual TLS, every message and
 * StoredData signed) join, a value is stored, fetched and stat'ed; tshark captures the peers' overlay
 * ports on loopback, decrypts TLS with the key logs the peers wrote (`--tls-keylog` through
 * NODE_OPTIONS) and dissects RELOAD. Every message: each signature sha256 (4) with a peer key's
 * algorithm, SignerIdentity cert_hash (1) with hash_alg sha256, X.509 bags. For a sample of Join,
 * Update, Attach, Store, Fetch and Stat requests and answers (PDML): the bag holds X.509
 * certificates, the SignerIdentity hash is SHA-256 of a peer's certificate file (cert.pem), the
 * signature algorithm is that peer's key's (new enrolled identities are ECDSA P-256: ecdsa = 3; RSA-2048, rsa = 1, until 2026-12-07), and a
 * signature value is there. The StoredData signatures inside StoreReq and FetchAns are checked the
 * same way (user3's registration signed by user3's peer). No malformed packet, no expert warning
 * (see the two explained exceptions at the end).
 *
 * Known Wireshark 4.0 limit (as in reload-tls-tshark.test.ts): several FramedMessages in one TLS
 * record are legal (RFC 6940 §6.6.5 frames a byte stream), Wireshark dissects only the first of each
 * record, so not every message of the run is seen; the assertions need each method at least once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withScope } from '../../harness/process-scope.js';
import { requireTools } from '../../harness/require-tools.js';
import { PROBLEM_FILTER, startCapture, tsharkLines } from './helpers/tshark.js';
import { startEnrollment } from '../integration/helpers/enrolled-overlay.js';
import { untilWholeRing } from '../integration/helpers/ring.js';
import { startStoragePeer } from '../integration/helpers/storage-peer-process.js';
import { HashAlgorithm, MessageCode, SignatureAlgorithm } from '../../src/reload/codec/index.js';
import type { StoragePeerProcess } from '../integration/helpers/storage-peer-process.js';

const TEST_TIMEOUT_MS = 240_000;
const OVERLAY = 'storage-signed-tshark.test';
const PEERS = 10;
const PROFILE_KIND = 1; // SIP-REGISTRATION (dictionary, USER-NODE-MATCH) in the enroll-server's document
/** Request codes (RFC 6940 §14.8) of the methods whose security blocks are checked; the answer is code + 1. */
const CODES: Record<string, number> = {
  Join: MessageCode.join_req, Update: MessageCode.update_req, Attach: MessageCode.attach_req,
  Store: MessageCode.store_req, Fetch: MessageCode.fetch_req, Stat: MessageCode.stat_req,
};
const X509 = 0; // CertificateType x509 (RFC 6940 §6.3.4)
const CERT_HASH = 1; // SignerIdentityType cert_hash: our certificates carry one Node-ID

async function api(p: StoragePeerProcess, method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  // the peer's API token (its data directory): POSTs need it, and it spares the overlay-read rate limit
  const r = await fetch(`http://${p.http}${path}`, { method, headers: { authorization: `Bearer ${p.apiToken()}` }, signal: AbortSignal.timeout(30_000) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** SHA-256 of the DER of a peer's certificate (cert.pem in its data directory) and the signature algorithm of its key. */
function certOf(dataDir: string): { hash: string; sig: number } {
  const cert = new X509Certificate(readFileSync(join(dataDir, 'cert.pem')));
  const sig = cert.publicKey.asymmetricKeyType === 'rsa' ? SignatureAlgorithm.rsa : SignatureAlgorithm.ecdsa;
  return { hash: createHash('sha256').update(cert.raw).digest('hex'), sig };
}

/** One security block (the message's, or a StoredData's) as PDML shows it. */
interface Block {
  certTypes: number[];
  identityType: number | undefined;
  identityHashAlg: number | undefined;
  identityHash: string | undefined;
  hash: number | undefined;
  sig: number | undefined;
  sigLen: number;
}

interface Stored extends Block {
  kind: number | undefined;
}

interface Row {
  frame: number;
  code: number;
  message: Block;
  stored: Stored[];
}

const emptyBlock = (): Block => ({ certTypes: [], identityType: undefined, identityHashAlg: undefined, identityHash: undefined, hash: undefined, sig: undefined, sigLen: 0 });

/** Parses tshark -T pdml: each RELOAD message's code, its security block and its StoredData signatures. */
function parsePdml(lines: readonly string[]): Row[] {
  const rows: Row[] = [];
  let frame = 0;
  let row: Row | undefined;
  let kind: number | undefined;
  const stack: string[] = [];
  for (const line of lines) {
    const name = /<(?:field|proto) name="([^"]*)"/.exec(line)?.[1];
    const show = /\bshow="([^"]*)"/.exec(line)?.[1];
    const num = show === undefined ? NaN : Number(show.startsWith('0x') ? parseInt(show, 16) : show);
    if (line.includes('</field>') || line.includes('</proto>')) {
      stack.pop();
      continue;
    }
    if (name === undefined) continue;
    if (name === 'frame.number') frame = num;
    if (line.includes('<proto name="reload" ')) {
      row = { frame, code: -1, message: emptyBlock(), stored: [] };
      rows.push(row);
    }
    if (row !== undefined) {
      const inStored = stack.includes('reload.storeddata');
      let target: Block = row.message;
      if (name === 'reload.storeddata') row.stored.push({ ...emptyBlock(), kind });
      if (inStored) target = row.stored[row.stored.length - 1]!;
      if (name === 'reload.message.code' && row.code === -1) row.code = num;
      if (name === 'reload.kinddata.kind') kind = num;
      if (name === 'reload.certificate.type' && !inStored) target.certTypes.push(num);
      if (name === 'reload.signature.identity.type') target.identityType = num;
      if (name === 'reload.signeridentityvalue.hash_alg') target.identityHashAlg = num;
      if (name === 'reload.hash_algorithm') target.hash = num;
      if (name === 'reload.signature_algorithm') target.sig = num;
      if (name === 'reload.opaque.data' && /certificate(_node_id)?_hash$/.test(stack[stack.length - 1] ?? '')) target.identityHash = show?.replaceAll(':', '');
      if (name === 'reload.signature.value') target.sigLen = Number(/\bsize="(\d+)"/.exec(line)?.[1] ?? 2) - 2;
    }
    if (!line.trimEnd().endsWith('/>')) stack.push(name);
  }
  return rows;
}

test('tshark dissects the signed RELOAD of an enrolled overlay of 10 peers', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireTools(t, ['tshark'])) return;
  await withScope(async (scope) => {
    const dir = scope.tempDir('p2psip-signed-tshark-');
    const ports: number[] = [];
    for (let i = 0; i < PEERS; i++) ports.push(await scope.port());
    const e = await startEnrollment(dir, OVERLAY, Array.from({ length: PEERS }, (_, i) => `user${i}`), { bootstrapPort: ports[0]! });
    const server = e.server;
    scope.defer(async () => void (await server.stop()));
    const pcap = join(dir, 'signed.pcapng');
    const capture = await startCapture(scope, { file: pcap, ports, lifetimeMs: TEST_TIMEOUT_MS, maxPackets: 200_000 });
    const peers: StoragePeerProcess[] = [];
    scope.defer(async () => {
      for (const p of peers) await p.stop('SIGKILL');
    });
    const keylogs = ports.map((_, i) => join(dir, `keylog${i}.txt`));
    const start = (i: number): Promise<StoragePeerProcess> =>
      startStoragePeer(
        [
          '--overlay', OVERLAY, '--config', server.configUrl, '--config-ca', e.caFile, '--user', `user${i}`, '--password', e.password(`user${i}`),
          // a TLS record per RELOAD frame: Wireshark dissects only the first frame of a record
          '--tls-record-per-message', '--hold-down', '3000', '--data-dir', join(dir, `peer${i}`), '--listen', `127.0.0.1:${ports[i]}`,
          ...(i === 0 ? [] : ['--bootstrap', `127.0.0.1:${ports[0]}`]),
        ],
        120_000,
        { env: { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --tls-keylog=${keylogs[i]}`.trim() } },
      );
    peers.push(await start(0));
    // the others start two at a time (a loaded 2-core machine)
    for (let i = 1; i < PEERS; i += 2) peers.push(...(await Promise.all([start(i), ...(i + 1 < PEERS ? [start(i + 1)] : [])])));
    await untilWholeRing(peers);

    // Store at user3's peer, Fetch and Stat from another peer (RFC 6940 §7.4)
    const alice = peers[3]!;
    const name = encodeURIComponent(`user3@${OVERLAY}`);
    let r = await api(alice, 'POST', `/api/storage/store?kind=${PROFILE_KIND}&name=${name}&value=sip:user3@127.0.0.1:5070`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await api(peers[7]!, 'GET', `/api/storage/fetch?kind=${PROFILE_KIND}&name=${name}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((r.body.values as Array<{ value: string }>)[0]?.value, 'sip:user3@127.0.0.1:5070');
    // several Stats: a peer that is itself responsible sends none, and Wireshark sees only the first message of a TLS record
    for (const i of [8, 1, 2, 4, 6, 9]) {
      r = await api(peers[i]!, 'GET', `/api/storage/stat?kind=${PROFILE_KIND}&name=${name}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    r = await api(peers[5]!, 'GET', `/api/storage/fetch?kind=${PROFILE_KIND}&name=${name}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const p of peers) await p.stop('SIGTERM');
    await capture.stop(); // marks first: every packet sent before is in the file
    assert.ok(statSync(pcap).size > 0, 'the capture holds packets');

    const certs = new Map(peers.map((p) => certOf(p.dataDir)).map((c) => [c.hash, c.sig]));
    const aliceHash = certOf(alice.dataDir).hash;
    const keylog = join(dir, 'keylog.txt');
    writeFileSync(keylog, '');
    for (const k of keylogs) appendFileSync(keylog, readFileSync(k));
    const rsaKey = join(dir, 'unused-rsa.key');
    writeFileSync(rsaKey, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const dissect = ['-r', pcap, '-n', '-o', `tls.keylog_file:${keylog}`];
    for (const p of ports) dissect.push('-d', `tcp.port==${p},tls`, '-o', `uat:ssl_keys:"127.0.0.1","${p}","reload-framing","${rsaKey}",""`);

    // 1. Every RELOAD message (tshark -T fields, all occurrences): each signature — the message's and those of the
    // StoredData it carries — sha256 (4), a SignerIdentity cert_hash with hash_alg sha256, a signature algorithm of a
    // peer's key; at least one signature per message.
    const sigAlgs = new Set(certs.values());
    const fields = ['frame.number', 'reload.message.code', 'reload.hash_algorithm', 'reload.signature_algorithm', 'reload.signature.identity.type', 'reload.signeridentityvalue.hash_alg', 'reload.certificate.type'];
    const all = (
      await tsharkLines(scope, [...dissect, '-Y', 'reload', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])])
    ).filter((l) => /^\d+\t/.test(l)).map((l) => {
      const cols = l.split('\t').map((c) => c.split(',').filter((x) => x !== '').map(Number));
      return { frame: cols[0]![0]!, codes: cols[1]!, hash: cols[2]!, sig: cols[3]!, idType: cols[4]!, idHash: cols[5]!, certTypes: cols[6]! };
    });
    const count = new Map<number, number>();
    for (const m of all) for (const c of m.codes) count.set(c, (count.get(c) ?? 0) + 1);
    t.diagnostic(`${all.length} frames with RELOAD; message codes: ${[...count].map(([c, n]) => `${c}×${n}`).join(' ')}`);
    for (const m of all) {
      const what = `frame ${m.frame} (message codes ${m.codes.join(',')})`;
      assert.ok(m.sig.length >= m.codes.length, `${what}: a signature per message`);
      assert.ok(m.hash.every((h) => h === HashAlgorithm.sha256), `${what}: hash algorithms ${m.hash.join(',')}`);
      assert.ok(m.sig.every((x) => sigAlgs.has(x)), `${what}: signature algorithms ${m.sig.join(',')}`);
      assert.ok(m.idType.length === m.sig.length && m.idType.every((x) => x === CERT_HASH), `${what}: SignerIdentity types ${m.idType.join(',')}`);
      assert.ok(m.idHash.every((x) => x === HashAlgorithm.sha256), `${what}: SignerIdentity hash_alg ${m.idHash.join(',')}`);
      assert.ok(m.certTypes.every((x) => x === X509), `${what}: certificate types ${m.certTypes.join(',')}`);
    }

    // 2. A sample of each method (PDML: the nesting tells the message's security block from a StoredData's): up to
    // SAMPLE frames of each request and answer code, every frame with a StoreReq or FetchAns.
    const SAMPLE = 12;
    const frames = new Set<number>();
    for (const code of [...Object.values(CODES).flatMap((c) => [c, c + 1])]) {
      const these = all.filter((m) => m.codes.includes(code));
      const keep = code === MessageCode.store_req || code === MessageCode.fetch_ans ? these : these.slice(0, SAMPLE);
      for (const m of keep) frames.add(m.frame);
    }
    assert.ok(frames.size > 0, 'frames to dissect');
    const pdml = await tsharkLines(scope, [...dissect, '-Y', `reload && frame.number in {${[...frames].join(',')}}`, '-T', 'pdml', '-J', 'frame reload']);
    // P2PSIP_SIGNED_TSHARK_DUMP=<file>: keep the PDML for a look after the run (the test's folder is removed)
    const dump = process.env['P2PSIP_SIGNED_TSHARK_DUMP'];
    if (dump !== undefined && dump !== '') writeFileSync(dump, pdml.join('\n'));
    const rows = parsePdml(pdml);
    t.diagnostic(`${rows.length} RELOAD messages dissected in PDML`);

    // What we sent: every signature sha256 with the signer's key algorithm, SignerIdentity cert_hash (sha256) = SHA-256 of
    // the signer's certificate file, a signature value (RSA-2048: 256 bytes; ECDSA P-256 DER: 70–72).
    const checkBlock = (b: Block, what: string, expectHash?: string): void => {
      assert.equal(b.hash, HashAlgorithm.sha256, `${what}: hash algorithm sha256 (4)`);
      assert.equal(b.identityType, CERT_HASH, `${what}: SignerIdentity cert_hash`);
      assert.equal(b.identityHashAlg, HashAlgorithm.sha256, `${what}: SignerIdentity hash_alg sha256`);
      const sig = b.identityHash === undefined ? undefined : certs.get(b.identityHash);
      assert.ok(sig !== undefined, `${what}: the signer's hash ${String(b.identityHash)} is SHA-256 of a peer's certificate`);
      assert.equal(b.sig, sig, `${what}: the signature algorithm of the signer's key`);
      if (expectHash !== undefined) assert.equal(b.identityHash, expectHash, `${what}: signed by the expected peer`);
      assert.ok(b.sigLen >= 64, `${what}: a signature value (${b.sigLen} bytes)`);
    };
    for (const [method, req] of Object.entries(CODES)) {
      for (const code of [req, req + 1]) {
        const these = rows.filter((x) => x.code === code);
        const what = `${method} ${code === req ? 'request' : 'answer'}`;
        assert.ok(these.length > 0, `${what} dissected`);
        for (const [k, row] of these.entries()) {
          checkBlock(row.message, `${what} #${k} (frame ${row.frame})`);
          assert.ok(row.message.certTypes.length >= 1 && row.message.certTypes.every((c) => c === X509), `${what} #${k}: X.509 certificates in the bag`);
        }
      }
    }
    // StoredData signatures (RFC 6940 §7.1) inside StoreReq and FetchAns: user3's registration signed by user3's peer,
    // CERTIFICATE_BY_NODE/USER (§8) by the peer whose certificate it is
    const storeReqs = rows.filter((x) => x.code === MessageCode.store_req && x.stored.length > 0);
    const fetchAns = rows.filter((x) => x.code === MessageCode.fetch_ans && x.stored.length > 0);
    assert.ok(storeReqs.some((x) => x.stored.some((d) => d.kind === PROFILE_KIND)), 'a StoreReq with the registration dissected');
    assert.ok(fetchAns.some((x) => x.stored.some((d) => d.kind === PROFILE_KIND)), 'a FetchAns with the registration dissected');
    let storedChecked = 0;
    for (const row of [...storeReqs, ...fetchAns]) {
      for (const d of row.stored) {
        checkBlock(d, `StoredData of Kind ${String(d.kind)} in frame ${row.frame}`, d.kind === PROFILE_KIND ? aliceHash : undefined);
        storedChecked++;
      }
    }
    t.diagnostic(`${storedChecked} StoredData signatures checked`);


    // 3. No malformed packet, no expert warning. TCP segments without payload carry no RELOAD: their warnings
    //    (D-SACK on an ACK when the loaded machine retransmits, RST as killed peers' sockets close) are the kernel's —
    //    PROBLEM_FILTER ignores only tcp.analysis. (Attach ufrag/password are ice-chars, RFC 5245 §15.1: an earlier
    //    build sent raw random bytes and Wireshark warned "Trailing stray characters" on a 0x00.)
    const problems = (
      await tsharkLines(scope, [
        ...dissect, '-Y', `(${PROBLEM_FILTER}) && !(tcp.len == 0)`,
        '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|', '-e', 'frame.number', '-e', 'reload.message.code', '-e', '_ws.col.Info', '-e', '_ws.expert.message',
      ])
    ).filter((l) => /^\d+\t/.test(l));
    assert.deepEqual(problems, [], 'no malformed RELOAD and no expert warning');
  });
});

/**
 * What an enrollment server keeps in its data directory: the overlay CA (ca.pem, ca.key 0600),
 * the configuration signer (signer.pem, signer.key 0600), Node-IDs given to users
 * (node-ids.json, RFC 6940 §11.3: the same Node-IDs for a returning user), the configuration
 * sequence counter and the last document served (config.xml).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Random } from '../lib/random.js';
import {
  certificateFromPem,
  certificateToPem,
  createOverlayCa,
  issueCaSignedIdentity,
  loadNodeIdentity,
  privateKeyFromPem,
  privateKeyToPem,
} from '../reload/security/index.js';
import type { NodeIdentity, NodeKeyAlgorithm, OverlayCa } from '../reload/security/index.js';
import { readOptionalFile, writeFileAtomic } from './atomic-file.js';

export interface EnrollmentState {
  ca: OverlayCa;
  signer: NodeIdentity;
  assignments: Map<string, string[]>;
  /** This run's configuration sequence (one more than the last run's, RFC 6940 §11.1). */
  sequence: number;
  /** True when the CA was created by this call. */
  createdCa: boolean;
}

/** Loads the server's state from `dir`, creating the CA and signer on first run. */
export async function loadOrCreateEnrollmentState(
  dir: string,
  o: { overlay: string; now: number; random: Random; algorithm?: NodeKeyAlgorithm },
): Promise<EnrollmentState> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caPem = await readOptionalFile(join(dir, 'ca.pem'));
  const caKey = await readOptionalFile(join(dir, 'ca.key'));
  let ca: OverlayCa;
  let createdCa = false;
  if (caPem !== undefined && caKey !== undefined) {
    ca = { certificate: certificateFromPem(caPem), keys: privateKeyFromPem(caKey) };
  } else {
    ca = await createOverlayCa({ overlay: o.overlay, now: o.now, random: o.random, ...(o.algorithm === undefined ? {} : { algorithm: o.algorithm }) });
    await writeFileAtomic(join(dir, 'ca.key'), privateKeyToPem(ca.keys.privateKey), 0o600);
    await writeFileAtomic(join(dir, 'ca.pem'), certificateToPem(ca.certificate), 0o644);
    createdCa = true;
  }
  const signerPem = await readOptionalFile(join(dir, 'signer.pem'));
  const signerKey = await readOptionalFile(join(dir, 'signer.key'));
  let signer: NodeIdentity | undefined;
  if (!createdCa && signerPem !== undefined && signerKey !== undefined) {
    const loaded = loadNodeIdentity(certificateFromPem(signerPem), signerKey);
    if (loaded.certificate.notAfter > o.now + 24 * 3600 * 1000) signer = loaded;
  }
  if (signer === undefined) {
    signer = await issueCaSignedIdentity(ca, {
      overlay: o.overlay,
      userName: `configuration@${o.overlay}`,
      nodeIds: [o.random.bytes(16)],
      now: o.now,
      random: o.random,
      ...(o.algorithm === undefined ? {} : { algorithm: o.algorithm }),
    });
    await writeFileAtomic(join(dir, 'signer.key'), privateKeyToPem(signer.keys.privateKey), 0o600);
    await writeFileAtomic(join(dir, 'signer.pem'), certificateToPem(signer.certificate.der), 0o644);
  }
  const assignments = new Map<string, string[]>();
  const json = await readOptionalFile(join(dir, 'node-ids.json'));
  if (json !== undefined) {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed === 'object' && parsed !== null) {
      for (const [user, ids] of Object.entries(parsed as Record<string, unknown>)) {
        if (Array.isArray(ids) && ids.every((x) => typeof x === 'string' && /^[0-9a-f]{32,40}$/.test(x))) assignments.set(user, ids as string[]);
      }
    }
  }
  const last = Number((await readOptionalFile(join(dir, 'config-sequence')))?.trim() ?? '0');
  const sequence = Math.min(65534, (Number.isInteger(last) && last >= 0 ? last : 0) + 1);
  await writeFileAtomic(join(dir, 'config-sequence'), `${sequence}\n`, 0o644);
  return { ca, signer, assignments, sequence, createdCa };
}

/** Persists the user → Node-IDs map. */
export async function saveAssignments(dir: string, assignments: ReadonlyMap<string, readonly string[]>): Promise<void> {
  await writeFileAtomic(join(dir, 'node-ids.json'), `${JSON.stringify(Object.fromEntries(assignments), null, 1)}\n`, 0o600);
}

/** Keeps a copy of the document served (for operators; peers fetch it over HTTPS). */
export async function saveServedDocument(dir: string, xml: string): Promise<void> {
  await writeFileAtomic(join(dir, 'config.xml'), xml, 0o644);
}

/** Reads a text file named on the command line (users file, TLS PEM). */
export async function readTextFile(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

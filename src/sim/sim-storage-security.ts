/**
 * Identities without cryptography for storage in the simulator. A peer's identity is its Node-ID,
 * carried as a `cert_hash` SignerIdentity (RFC 6940 §6.3.4) that the receiver trusts as it is:
 * there are no certificates and no signature checks here (the simulator measures replication and
 * routing, not cryptography). Stored values carry a 64-byte dummy signature, the size of an ECDSA
 * P-256 signature, so the bytes replication moves are those of a signed value.
 */
import { HashAlgorithm, MessageCode, SignatureAlgorithm } from '../reload/codec/index.js';
import type { ForwardingHeader, SecurityBlock, Signature, StoredData } from '../reload/codec/index.js';
import type { OverlaySecurity, SignerInfo } from '../reload/overlay/overlay-types.js';
import type { StorageCredentials, StoredDataVerification } from '../reload/storage/index.js';

/** Size of the dummy signature of a stored value (raw ECDSA P-256 r||s). */
export const SIM_VALUE_SIGNATURE_BYTES = 64;

/** Message codes whose signer storage checks (RFC 6940 §7.3: the StoreReq's signer must conform). */
const SIGNED_CODES = new Set<number>([MessageCode.store_req, MessageCode.store_ans, MessageCode.fetch_req, MessageCode.fetch_ans, MessageCode.stat_req, MessageCode.stat_ans]);

function nodeSignature(nodeId: Uint8Array, value: Uint8Array): Signature {
  return {
    algorithm: { hash: HashAlgorithm.sha256, signature: SignatureAlgorithm.ecdsa },
    identity: { type: 'cert_hash', hashAlg: HashAlgorithm.sha256, certificateHash: nodeId },
    signatureValue: value,
  };
}

function signerOf(sig: Signature, idLength: number): SignerInfo | undefined {
  const id = sig.identity;
  if (id.type !== 'cert_hash' || id.certificateHash.length !== idLength) return undefined;
  return { userName: '', nodeIds: [id.certificateHash] };
}

/**
 * Message security of a storing sim peer: storage messages name the sender's Node-ID as signer
 * (so Store access checks have a requester); other messages are as UnsignedSecurity's (identity
 * `none`, empty signature), so topology maintenance costs the same bytes as in lookup-only runs.
 */
export class SimStorageSecurity implements OverlaySecurity {
  private readonly empty = new Uint8Array(0);

  constructor(private readonly nodeId: Uint8Array) {}

  identifyPeer(certificate: Uint8Array | undefined): Uint8Array[] | Error {
    if (certificate?.length !== this.nodeId.length) return new Error('no Node-ID presented');
    return [certificate];
  }

  sign(_header: ForwardingHeader, contents: Uint8Array): SecurityBlock {
    // the message code is the first two octets of MessageContents (RFC 6940 §6.3.3)
    const code = contents.length >= 2 ? ((contents[0]! << 8) | contents[1]!) : 0;
    if (SIGNED_CODES.has(code)) return { certificates: [], signature: nodeSignature(this.nodeId, this.empty) };
    return {
      certificates: [],
      signature: { algorithm: { hash: HashAlgorithm.none, signature: SignatureAlgorithm.anonymous }, identity: { type: 'none' }, signatureValue: this.empty },
    };
  }

  verify(_header: ForwardingHeader, _contents: Uint8Array, block: SecurityBlock): { ok: true; signer: SignerInfo | undefined } {
    return { ok: true, signer: signerOf(block.signature, this.nodeId.length) };
  }
}

/** {@link StorageCredentials} of a sim peer: values "signed" by its Node-ID (no cryptography). */
export function simStorageCredentials(nodeId: Uint8Array): StorageCredentials {
  const dummy = new Uint8Array(SIM_VALUE_SIGNATURE_BYTES);
  return {
    identity: { userName: '', nodeIds: [nodeId] },
    certificate: new Uint8Array(0),
    sign: (_resourceId, _kind, storageTime, lifetime, value): StoredData => ({ storageTime, lifetime, value, signature: nodeSignature(nodeId, dummy) }),
    verifier: {
      verify(_resourceId: Uint8Array, _kindId: number, data: StoredData): StoredDataVerification {
        const signer = signerOf(data.signature, nodeId.length);
        return signer === undefined ? { ok: false, info: 'no cert_hash Node-ID signer' } : { ok: true, signer };
      },
    },
    certificateOf: () => undefined,
  };
}

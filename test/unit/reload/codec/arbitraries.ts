/** fast-check generators of RELOAD wire structures (RFC 6940 §6.3) for property and fuzz tests. */
import fc from 'fast-check';
import type { Destination } from '../../../../src/reload/codec/destination.js';
import type { ForwardingHeader, ForwardingOption } from '../../../../src/reload/codec/forwarding-header.js';
import { ReloadErrorCode } from '../../../../src/reload/codec/message-contents.js';
import type { ReloadMessage } from '../../../../src/reload/codec/reload-message.js';
import type { SecurityBlock, Signature, SignerIdentity } from '../../../../src/reload/codec/security-block.js';
import type { ErrorResponse, MessageContents, MessageExtension } from '../../../../src/reload/codec/message-contents.js';

/** fc.record with plain prototypes (assert.deepEqual compares prototypes). */
export const rec = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true });

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

export function bytes(maxLength: number, minLength = 0): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength, maxLength });
}

/** A destination other than a Resource-ID (allowed anywhere in either list). */
export function routingDestination(nodeIdLength: number): fc.Arbitrary<Destination> {
  return fc.oneof(
    bytes(nodeIdLength, nodeIdLength).map((nodeId): Destination => ({ type: 'node', nodeId })),
    bytes(40).map((opaqueId): Destination => ({ type: 'opaque', opaqueId })),
    fc.integer({ min: 0x8000, max: 0xffff }).map((id): Destination => ({ type: 'compressed', id })),
    rec({ code: fc.integer({ min: 4, max: 127 }), data: bytes(20) }).map(({ code, data }): Destination => ({ type: 'unknown', code, data })),
  );
}

export const resourceDestination: fc.Arbitrary<Destination> = bytes(32, 1).map((resourceId): Destination => ({ type: 'resource', resourceId }));

export function viaList(nodeIdLength: number): fc.Arbitrary<Destination[]> {
  return fc.array(routingDestination(nodeIdLength), { maxLength: 4 });
}

/** A Destination List: routing entries, optionally ending in a Resource-ID. */
export function destinationList(nodeIdLength: number): fc.Arbitrary<Destination[]> {
  return fc
    .tuple(fc.array(routingDestination(nodeIdLength), { maxLength: 4 }), fc.option(resourceDestination, { nil: undefined }))
    .map(([list, last]) => (last === undefined ? list : [...list, last]));
}

export const forwardingOption: fc.Arbitrary<ForwardingOption> = rec({
  type: fc.integer({ min: 1, max: 0xff }),
  flags: u8,
  value: bytes(16),
});

export function forwardingHeader(nodeIdLength = 16): fc.Arbitrary<ForwardingHeader> {
  return rec({
    overlay: u32,
    configurationSequence: u16,
    version: u8,
    ttl: u8,
    fragment: rec({ last: fc.boolean(), offset: fc.integer({ min: 0, max: 0xffffff }) }),
    length: u32,
    transactionId: u64,
    maxResponseLength: u32,
    viaList: viaList(nodeIdLength),
    destinationList: destinationList(nodeIdLength),
    options: fc.array(forwardingOption, { maxLength: 3 }),
  });
}

export const messageExtension: fc.Arbitrary<MessageExtension> = rec({
  type: fc.integer({ min: 1, max: 0xffff }),
  critical: fc.boolean(),
  contents: bytes(24),
});

export const messageContents: fc.Arbitrary<MessageContents> = rec({
  messageCode: fc.integer({ min: 1, max: 0xffff }),
  body: bytes(200),
  extensions: fc.array(messageExtension, { maxLength: 3 }),
});

export const errorResponse: fc.Arbitrary<ErrorResponse> = rec({
  errorCode: fc.oneof(fc.constantFrom(...Object.values(ReloadErrorCode)), fc.integer({ min: 1, max: 0xffff })),
  errorInfo: bytes(100),
});

export const signerIdentity: fc.Arbitrary<SignerIdentity> = fc.oneof(
  rec({ hashAlg: u8, certificateHash: bytes(64) }).map((v): SignerIdentity => ({ type: 'cert_hash', ...v })),
  rec({ hashAlg: u8, certificateNodeIdHash: bytes(64) }).map((v): SignerIdentity => ({ type: 'cert_hash_node_id', ...v })),
  fc.constant<SignerIdentity>({ type: 'none' }),
  rec({ code: fc.integer({ min: 4, max: 255 }), value: bytes(20) }).map((v): SignerIdentity => ({ type: 'unknown', ...v })),
);

export const signature: fc.Arbitrary<Signature> = rec({
  algorithm: rec({ hash: u8, signature: u8 }),
  identity: signerIdentity,
  signatureValue: bytes(128),
});

export const securityBlock: fc.Arbitrary<SecurityBlock> = rec({
  certificates: fc.array(rec({ type: u8, certificate: bytes(300) }), { maxLength: 3 }),
  signature,
});

/** A whole message (header.length 0: the encoder writes the real size). */
export function reloadMessage(nodeIdLength = 16): fc.Arbitrary<ReloadMessage> {
  return rec({
    header: forwardingHeader(nodeIdLength).map((h) => ({ ...h, length: 0, fragment: { last: true, offset: 0 } })),
    contents: messageContents,
    securityBlock,
  });
}

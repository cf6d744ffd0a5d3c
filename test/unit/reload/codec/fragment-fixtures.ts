import { RELOAD_VERSION } from '../../../../src/reload/codec/forwarding-header.js';
import { MessageCode } from '../../../../src/reload/codec/message-code.js';
import type { ReloadMessage } from '../../../../src/reload/codec/reload-message.js';

/** A StoreReq-coded message with a `bodyLength`-byte body (a pattern), one via entry. */
export function bigMessage(bodyLength: number, transactionId = 0x0123456789abcdefn): ReloadMessage {
  const body = new Uint8Array(bodyLength);
  for (let i = 0; i < bodyLength; i++) body[i] = (i * 31 + 7) & 0xff;
  return {
    header: {
      overlay: 0x8c2e1a7f,
      configurationSequence: 1,
      version: RELOAD_VERSION,
      ttl: 100,
      fragment: { last: true, offset: 0 },
      length: 0,
      transactionId,
      maxResponseLength: 0,
      viaList: [{ type: 'node', nodeId: new Uint8Array(16).fill(0xaa) }],
      destinationList: [{ type: 'node', nodeId: new Uint8Array(16).fill(0x0f) }],
      options: [],
    },
    contents: { messageCode: MessageCode.store_req, body, extensions: [] },
    securityBlock: {
      certificates: [],
      signature: { algorithm: { hash: 4, signature: 1 }, identity: { type: 'none' }, signatureValue: new Uint8Array([0x5a]) },
    },
  };
}

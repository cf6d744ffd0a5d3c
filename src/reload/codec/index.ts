// The RELOAD wire codec (RFC 6940 §6.3, §6.6.2): the one barrel of src/reload/codec.
export { CodecError, joinPath } from './codec-error.js';
export type { CodecErrorCode, DecodeResult } from './codec-error.js';
export type { CodecOptions } from './codec-options.js';
export { DEFAULT_MAX_MESSAGE_SIZE, Reader } from './reader.js';
export type { LengthSize } from './reader.js';
export { Writer } from './writer.js';
export {
  DEFAULT_NODE_ID_LENGTH,
  DestinationType,
  MAX_NODE_ID_LENGTH,
  MIN_NODE_ID_LENGTH,
  readDestination,
  readDestinationList,
  writeDestination,
  writeDestinationList,
} from './destination.js';
export type { Destination } from './destination.js';
export {
  DEFAULT_INITIAL_TTL,
  DESTINATION_CRITICAL,
  FORWARD_CRITICAL,
  FORWARDING_HEADER_FIXED_LENGTH,
  RELOAD_VERSION,
  RELO_TOKEN,
  RESPONSE_COPY,
  UNFRAGMENTED,
  decodeForwardingHeader,
  encodeForwardingHeader,
  fragmentField,
  readForwardingHeader,
  writeForwardingHeader,
} from './forwarding-header.js';
export type { ForwardingHeader, ForwardingOption, Fragment } from './forwarding-header.js';
export { MessageCode, answerCodeOf, isRequestCode, isResponseCode } from './message-code.js';
export type { MessageCodeName } from './message-code.js';
export {
  ReloadErrorCode,
  decodeErrorResponse,
  decodeMessageContents,
  encodeErrorResponse,
  encodeMessageContents,
  errorContents,
  errorInfoText,
  isReloadErrorCode,
  readMessageContents,
  reloadErrorName,
  writeMessageContents,
} from './message-contents.js';
export type { ErrorResponse, MessageContents, MessageExtension } from './message-contents.js';
export {
  CertificateType,
  HashAlgorithm,
  SignatureAlgorithm,
  SignerIdentityType,
  decodeSecurityBlock,
  encodeSecurityBlock,
  encodeSignerIdentity,
  messageSignatureInput,
  readSecurityBlock,
  readSignature,
  readSignerIdentity,
  writeSecurityBlock,
  writeSignature,
  writeSignerIdentity,
} from './security-block.js';
export type { GenericCertificate, SecurityBlock, Signature, SignatureAndHashAlgorithm, SignerIdentity } from './security-block.js';
export { decodeReloadMessage, decodeReloadPdu, encodeReloadMessage, encodeReloadPdu } from './reload-message.js';
export type { ReloadMessage, ReloadPdu } from './reload-message.js';
export { ACK_FRAME_LENGTH, DATA_FRAME_OVERHEAD, FramedMessageType, FramedStreamDecoder, decodeFramedMessage, encodeFramedMessage } from './framed-message.js';
export type { FramedMessage } from './framed-message.js';
export { decodeBody, decodeEmptyBody, encodeBody, encodeEmptyBody } from './method-body.js';
export type { BodyCodecOptions, DataModel, EmptyBody } from './method-body.js';
export { decodePingAns, decodePingReq, encodePingAns, encodePingReq, readPingAns, readPingReq, writePingAns, writePingReq } from './ping.js';
export type { PingAns, PingReq } from './ping.js';
export {
  ProbeInformationType,
  decodeProbeAns,
  decodeProbeReq,
  encodeProbeAns,
  encodeProbeReq,
  readProbeAns,
  readProbeInformation,
  readProbeReq,
  writeProbeAns,
  writeProbeInformation,
  writeProbeReq,
} from './probe.js';
export type { ProbeAns, ProbeInformation, ProbeReq } from './probe.js';
export { ConfigUpdateType, decodeConfigUpdateReq, encodeConfigUpdateReq, readConfigUpdateReq, writeConfigUpdateReq } from './config-update.js';
export type { ConfigUpdateReq } from './config-update.js';
export { checkModel, modelOf, readDataValue, readModelEntry, readStoredData, writeDataValue, writeModelEntry, writeStoredData } from './stored-data.js';
export type { DataValue, ModelEntry, StoredData, StoredDataValue } from './stored-data.js';
export { decodeStoreAns, decodeStoreReq, encodeStoreAns, encodeStoreReq, readStoreAns, readStoreReq, writeStoreAns, writeStoreReq } from './store.js';
export type { StoreAns, StoreKindData, StoreKindResponse, StoreReq } from './store.js';
export {
  decodeFetchAns,
  decodeFetchReq,
  decodeStatReq,
  encodeFetchAns,
  encodeFetchReq,
  encodeStatReq,
  readFetchAns,
  readFetchReq,
  readStoredDataSpecifier,
  writeFetchAns,
  writeFetchReq,
  writeStoredDataSpecifier,
} from './fetch.js';
export type { ArrayRange, FetchAns, FetchKindResponse, FetchReq, StatReq, StoredDataSpecifier } from './fetch.js';
export { decodeStatAns, encodeStatAns, readStatAns, readStoredMetaData, writeStatAns, writeStoredMetaData } from './stat.js';
export type { MetaData, MetaDataValue, StatAns, StatKindResponse, StoredMetaData } from './stat.js';
export { decodeFindAns, decodeFindReq, encodeFindAns, encodeFindReq, readFindAns, readFindReq, writeFindAns, writeFindReq } from './find.js';
export type { FindAns, FindKindData, FindReq } from './find.js';
export { decodeJoinAns, decodeJoinReq, decodeLeaveReq, encodeJoinAns, encodeJoinReq, encodeLeaveReq, readJoinReq, readLeaveReq, writeJoinReq, writeLeaveReq } from './join-leave.js';
export type { JoinAns, JoinReq, LeaveReq } from './join-leave.js';
export { decodeRouteQueryReq, encodeRouteQueryReq, readRouteQueryReq, writeRouteQueryReq } from './route-query.js';
export type { RouteQueryReq } from './route-query.js';
export {
  ChordLeaveType,
  ChordUpdateType,
  decodeChordLeaveData,
  decodeChordRouteQueryAns,
  decodeChordUpdate,
  encodeChordLeaveData,
  encodeChordRouteQueryAns,
  encodeChordUpdate,
  readChordLeaveData,
  readChordUpdate,
  writeChordLeaveData,
  writeChordUpdate,
} from './chord-update.js';
export type { ChordLeaveData, ChordRouteQueryAns, ChordUpdate } from './chord-update.js';
export { AddressType, readIpAddressPort, writeIpAddressPort } from './ip-address-port.js';
export type { IpAddressPort } from './ip-address-port.js';
export {
  CandType,
  OverlayLinkType,
  decodeAppAttachReqAns,
  decodeAttachReqAns,
  encodeAppAttachReqAns,
  encodeAttachReqAns,
  readAppAttachReqAns,
  readAttachReqAns,
  readIceCandidate,
  writeAppAttachReqAns,
  writeAttachReqAns,
  writeIceCandidate,
} from './attach.js';
export type { AppAttachReqAns, AttachReqAns, CandTypeName, IceCandidate, IceExtension } from './attach.js';
export { SipRegistrationType, decodeSipRegistration, encodeSipRegistration, readSipRegistration, writeSipRegistration } from './sip-registration.js';
export type { SipRegistration } from './sip-registration.js';
export { MAX_FRAGMENT_OFFSET, MIN_FRAGMENT_PAYLOAD, fragmentMessage } from './fragmenter.js';
export type { FragmentOptions } from './fragmenter.js';
export {
  DEFAULT_MAX_INCOMPLETE_MESSAGES,
  DEFAULT_MAX_REASSEMBLY_BYTES,
  DEFAULT_REASSEMBLY_TIMEOUT_MS,
  REASSEMBLY_PIECE_OVERHEAD,
  Reassembler,
  ReassemblyError,
} from './reassembler.js';
export type { ReassemblerOptions, ReassemblerStats, ReassemblyErrorReason, ReassemblyResult } from './reassembler.js';

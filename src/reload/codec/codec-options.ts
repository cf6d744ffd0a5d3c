/** Settings shared by the RELOAD structure codecs. */
export interface CodecOptions {
  /** The overlay's NodeIdLength in bytes, 16..20 (RFC 6940 §11.1; default 16). */
  nodeIdLength?: number;
  /** Inputs (and outputs) above this many bytes are refused (RFC 6940 §11.1 max-message-size; default 5000). */
  maxMessageSize?: number;
}

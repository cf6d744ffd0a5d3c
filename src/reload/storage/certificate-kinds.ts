/** RFC 6940 §14.6 Kind-IDs of the Certificate Store Usage (§8), as src/reload/security names them. */
export const CERTIFICATE_BY_NODE = 3;
export const CERTIFICATE_BY_USER = 16;

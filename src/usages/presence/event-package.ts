/** An event package as the notifier serves it (RFC 6665 §7): its name, body type and state. */

/** What a subscription is told: `key` (equal keys are not notified twice) and the body of its n-th NOTIFY (from 0). */
export interface EventState {
  key: string;
  body(version: number): string;
}

/** An event package the notifier serves (RFC 6665 §7). */
export interface EventPackage {
  /** Its name in Event / Allow-Events (`presence`). */
  readonly event: string;
  /** The body type of its NOTIFYs. */
  readonly contentType: string;
  /** Expires when a SUBSCRIBE has none, s (RFC 3856 §6.4: 3600 for presence). */
  readonly defaultExpires: number;
  /** The current state of `aor`. */
  state(aor: string): Promise<EventState>;
  /** Calls `onChange` when the state of `aor` may have changed; returns the unwatch function. */
  watch(aor: string, onChange: () => void): () => void;
}

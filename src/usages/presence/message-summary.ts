/**
 * The message-summary event package's body (RFC 3842 §5.2): `application/simple-message-summary`,
 * telling a phone whether voicemail waits (its message waiting light). The counts come from a
 * {@link MessageSummarySource} the lead implements from the voicemail store.
 */

export const MESSAGE_SUMMARY_CONTENT_TYPE = 'application/simple-message-summary';

export interface MessageSummary {
  /** Voice messages not yet heard. */
  newMessages: number;
  /** Voice messages heard and kept. */
  oldMessages: number;
  /** The account the messages belong to (RFC 3842 §5.2 Message-Account), when it is not the AoR itself. */
  account?: string;
}

export interface MessageSummarySource {
  summary(aor: string): Promise<MessageSummary>;
  /** Calls `onChange` when the AoR's messages change; returns the unwatch function. */
  watch(aor: string, onChange: () => void): () => void;
}

function count(n: number): number {
  return Number.isSafeInteger(n) && n >= 0 ? Math.min(n, 999_999) : 0;
}

/** The RFC 3842 body: Messages-Waiting, Message-Account and the Voice-Message counts. */
export function messageSummaryBody(aor: string, s: MessageSummary): string {
  const fresh = count(s.newMessages);
  const old = count(s.oldMessages);
  const account = s.account !== undefined && !/[\r\n]/.test(s.account) ? s.account : aor;
  return `Messages-Waiting: ${fresh > 0 ? 'yes' : 'no'}\r\nMessage-Account: ${account}\r\nVoice-Message: ${fresh}/${old}\r\n`;
}

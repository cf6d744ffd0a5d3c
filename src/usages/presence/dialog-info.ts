/**
 * The dialog event package's body (RFC 4235 §4): `application/dialog-info+xml`, always full state,
 * with the version counting the NOTIFYs of one subscription (§4.1.1: from 0, +1 each). The calls of
 * an AoR come from a {@link CallStateSource} the lead implements from the proxy's call events.
 */
import { PresenceError } from './presence-error.js';
import { escapeXml } from './xml-elements.js';

export const DIALOG_INFO_NS = 'urn:ietf:params:xml:ns:dialog-info';
export const DIALOG_INFO_CONTENT_TYPE = 'application/dialog-info+xml';
/** Most dialogs described in one document (the newest first, as the source lists them). */
export const MAX_DIALOG_INFO_DIALOGS = 32;

/** RFC 4235 §4.1.2 `state`. */
export type CallDialogState = 'trying' | 'proceeding' | 'early' | 'confirmed' | 'terminated';

/** One dialog of an AoR, as the proxy saw it. */
export interface CallDialog {
  /** Unique among the AoR's dialogs (e.g. a hash of Call-ID and tags). */
  id: string;
  callId: string | undefined;
  localTag: string | undefined;
  remoteTag: string | undefined;
  /** The AoR called out (initiator) or was called (recipient). */
  direction: 'initiator' | 'recipient' | undefined;
  state: CallDialogState;
  /** The other party's URI, when known. */
  remote: string | undefined;
}

/** The calls of the AoRs, for the dialog package. */
export interface CallStateSource {
  dialogs(aor: string): Promise<readonly CallDialog[]>;
  /** Calls `onChange` when a dialog of `aor` changes state; returns the unwatch function. */
  watch(aor: string, onChange: () => void): () => void;
}

const STATES = new Set<string>(['trying', 'proceeding', 'early', 'confirmed', 'terminated']);

function attr(name: string, value: string | undefined): string {
  return value === undefined ? '' : ` ${name}="${escapeXml(value)}"`;
}

/**
 * A full-state dialog-info document for `entity` (RFC 4235 §4.1). Throws PresenceError
 * `bad-dialog-info` for a dialog the schema cannot carry (no id, unknown state).
 */
export function dialogInfoDocument(entity: string, version: number, dialogs: readonly CallDialog[]): string {
  if (!Number.isSafeInteger(version) || version < 0) throw new PresenceError('bad-dialog-info', `version ${version} is not a non-negative integer`);
  let body = '';
  for (const d of dialogs.slice(0, MAX_DIALOG_INFO_DIALOGS)) {
    if (typeof d.id !== 'string' || d.id === '') throw new PresenceError('bad-dialog-info', 'a dialog without id');
    if (!STATES.has(d.state)) throw new PresenceError('bad-dialog-info', `dialog state ${JSON.stringify(d.state)}`);
    body +=
      `  <dialog${attr('id', d.id)}${attr('call-id', d.callId)}${attr('local-tag', d.localTag)}${attr('remote-tag', d.remoteTag)}${attr('direction', d.direction)}>\n` +
      `    <state>${d.state}</state>\n` +
      `    <local><identity>${escapeXml(entity)}</identity></local>\n` +
      (d.remote === undefined ? '' : `    <remote><identity>${escapeXml(d.remote)}</identity></remote>\n`) +
      '  </dialog>\n';
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<dialog-info xmlns="${DIALOG_INFO_NS}" version="${version}" state="full" entity="${escapeXml(entity)}">\n${body}</dialog-info>\n`;
}

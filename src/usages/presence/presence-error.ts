import { P2psipError } from '../../lib/errors.js';

/**
 * Errors of the presence service (issue 16). Codes: `bad-pidf` (a PIDF document we refuse: the
 * service answers 400), `bad-dialog-info` (call state the dialog package cannot describe),
 * `rules-limit` (a presence rule list is full), `bad-rule` (not a rule entry).
 */
export class PresenceError extends P2psipError {
  constructor(code: 'bad-pidf' | 'bad-dialog-info' | 'rules-limit' | 'bad-rule', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'PresenceError';
  }
}

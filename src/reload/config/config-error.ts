import { P2psipError } from '../../lib/errors.js';

export type ConfigDocumentErrorCode = 'CONFIG_INVALID' | 'CONFIG_SIGNATURE_INVALID';

/** A configuration document refused; `element` names where (e.g. `configuration/required-kinds/kind-block[2]/kind/max-size`). */
export class ConfigDocumentError extends P2psipError {
  declare readonly code: ConfigDocumentErrorCode;
  readonly element: string;

  constructor(code: ConfigDocumentErrorCode, element: string, detail: string, options?: { cause?: unknown }) {
    super(code, element === '' ? detail : `${element}: ${detail}`, options);
    this.name = 'ConfigDocumentError';
    this.element = element;
  }
}

import { P2psipError } from '../../lib/errors.js';

/** Stable codes of {@link StorageError}. */
export type StorageErrorCode = 'STORAGE_BACKEND_CLOSED' | 'STORAGE_BACKEND_FAILED' | 'STORAGE_BAD_OPTIONS' | 'STORAGE_UNKNOWN_KIND';

/** A failure of the storage engine's own machinery (not a RELOAD answer: those are results). */
export class StorageError extends P2psipError {
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StorageError';
  }
}

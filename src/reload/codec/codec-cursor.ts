import { CodecError, joinPath, type CodecErrorCode } from './codec-error.js';

/**
 * What Reader and Writer share: the field path errors are reported under, scoped while a nested
 * structure or list element is read or written, and the one way to fail with it.
 */
export abstract class CodecCursor {
  protected currentPath: string;

  protected constructor(
    private readonly errorCode: CodecErrorCode,
    path: string,
  ) {
    this.currentPath = path;
  }

  /** The path errors are reported under. */
  get path(): string {
    return this.currentPath;
  }

  /** Throws a CodecError for `field` (relative to this cursor's path). */
  fail(field: string, detail: string, offset?: number): never {
    throw new CodecError(this.errorCode, joinPath(this.currentPath, field), detail, offset);
  }

  /** Runs `fn` with `name` appended to the error path (e.g. a list index `[2]`). */
  scoped<T>(name: string, fn: () => T): T {
    const saved = this.currentPath;
    this.currentPath = joinPath(saved, name);
    try {
      return fn();
    } finally {
      this.currentPath = saved;
    }
  }
}

/**
 * The tail of a peer's log for the dashboard (issue 17): a bounded ring of its recent info and warn
 * lines, fed by a tee around the Logger given to startPeer. Debug and trace lines go to the log
 * output only: they can come thousands a second (one per SIP datagram at trace), and a person
 * watching the page wants the lines that say what the peer did.
 */

/** Lines kept. */
export const LOG_TAIL_LINES = 200;
/** A line's message and fields are cut to this many characters each. */
export const LOG_TAIL_LINE_CHARS = 600;

export interface LogLine {
  /** Counts the lines of this tail (a gap between two seen lines means lines scrolled away). */
  seq: number;
  /** Wall-clock time, ms since the epoch. */
  at: number;
  level: 'info' | 'warn' | 'error';
  msg: string;
  /** The log object as compact JSON (cut), '' when it is empty. */
  fields: string;
}

/** The Logger shape the peer uses (run-peer.ts Logger; pino's methods). */
export interface TeeableLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error?(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
  trace?(obj: object, msg: string): void;
  isLevelEnabled?(level: string): boolean;
}

const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/** JSON of a log object for display; never throws (BigInt, cycles, getters that throw). */
function fieldsText(obj: object, max: number): string {
  try {
    const text = JSON.stringify(obj, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    return text === undefined || text === '{}' ? '' : cut(text, max);
  } catch {
    return cut(Object.prototype.toString.call(obj), max);
  }
}

export class LogTail {
  private readonly ring: LogLine[] = [];
  private seq = 0;
  private readonly listeners = new Set<(line: LogLine) => void>();

  constructor(
    private readonly deps: { now: () => number },
    private readonly options: { lines?: number; lineChars?: number } = {},
  ) {}

  /** Records one line (and tells the listeners). */
  push(level: LogLine['level'], obj: object, msg: string): void {
    const max = this.options.lineChars ?? LOG_TAIL_LINE_CHARS;
    const line: LogLine = { seq: ++this.seq, at: this.deps.now(), level, msg: cut(String(msg), max), fields: fieldsText(obj, max) };
    this.ring.push(line);
    if (this.ring.length > (this.options.lines ?? LOG_TAIL_LINES)) this.ring.shift();
    for (const l of this.listeners) {
      try {
        l(line);
      } catch {
        // an observer's failure must never reach the code that logs
      }
    }
  }

  /** The lines kept, oldest first. */
  lines(): LogLine[] {
    return [...this.ring];
  }

  /** Lines recorded so far (kept or scrolled away). */
  get total(): number {
    return this.seq;
  }

  /** Calls `listener` with each new line; returns the unsubscribe function. */
  onLine(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * A Logger that writes to `logger` and records in `tail` its info, warn and error lines that the
 * logger's level lets through (isLevelEnabled, when it has one). debug, trace and isLevelEnabled are
 * passed through as they are.
 */
export function teeLogger(logger: TeeableLogger, tail: LogTail): TeeableLogger {
  const enabled = (level: string): boolean => logger.isLevelEnabled?.(level) ?? true;
  const record = (level: LogLine['level'], obj: object, msg: string): void => {
    if (enabled(level)) tail.push(level, obj, msg);
  };
  const error = logger.error;
  return {
    info(obj, msg) {
      logger.info(obj, msg);
      record('info', obj, msg);
    },
    warn(obj, msg) {
      logger.warn(obj, msg);
      record('warn', obj, msg);
    },
    ...(error === undefined
      ? {}
      : {
          error(obj: object, msg: string) {
            error.call(logger, obj, msg);
            record('error', obj, msg);
          },
        }),
    ...(logger.debug === undefined ? {} : { debug: logger.debug.bind(logger) }),
    ...(logger.trace === undefined ? {} : { trace: logger.trace.bind(logger) }),
    ...(logger.isLevelEnabled === undefined ? {} : { isLevelEnabled: logger.isLevelEnabled.bind(logger) }),
  };
}

/**
 * The process's logger (issue 17): pino, writing to a file descriptor (stderr by default).
 * - `json`: one JSON object per line (pino's format, `time` as an ISO 8601 string) — for files,
 *   pipes and log collectors.
 * - `pretty`: readable lines (`[2025-01-31T12:00:00.000Z] INFO: message {"callId":"…"}`),
 *   formatted by pino-pretty in this process as a synchronous stream (no worker thread: a line is
 *   written before the call returns, so nothing is lost when the process exits at once).
 * - `auto` (the default): pretty when the descriptor is a terminal, JSON otherwise.
 *
 * Correlation fields (set by the callers): `callId` on every line about a SIP call, `tid` (hex) on
 * every line about a RELOAD transaction; in JSON they are plain keys to filter on.
 *
 * pino-pretty (with its dependencies: a few hundred kB of V8 heap beside pino) is loaded only for the
 * pretty format: a peer whose log goes to a file or a pipe never needs it. It is CommonJS, so require()
 * keeps createLogger synchronous.
 */
import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import pino from 'pino';
import type { Logger, LevelWithSilent } from 'pino';
import type PinoPrettyModule from 'pino-pretty';

const requireFromHere = createRequire(import.meta.url);

export type LogFormat = 'auto' | 'json' | 'pretty';

export const LOG_FORMATS: readonly LogFormat[] = Object.freeze(['auto', 'json', 'pretty'] as const);

export interface LoggerOptions {
  /** pino level: fatal, error, warn, info, debug, trace, silent (default info). */
  level?: LevelWithSilent;
  /** Default 'auto'. */
  format?: LogFormat;
  /** File descriptor written to (default 2, stderr). */
  fd?: number;
  /** Colours in pretty mode (default: when the descriptor is a terminal). */
  colorize?: boolean;
}

/** pino-pretty's time format: ISO 8601 in UTC with milliseconds. */
export const PRETTY_TIME_FORMAT = "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'";

/** The format `auto` stands for on a descriptor that is (or is not) a terminal. */
export function resolveLogFormat(format: LogFormat, isTerminal: boolean): 'json' | 'pretty' {
  if (format === 'auto') return isTerminal ? 'pretty' : 'json';
  return format;
}

/** True when `text` names a log format (for a command-line flag). */
export function isLogFormat(text: string): text is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(text);
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.fd ?? 2;
  const terminal = isatty(fd);
  const format = resolveLogFormat(options.format ?? 'auto', terminal);
  const settings = { level: options.level ?? 'info', base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  if (format === 'json') return pino(settings, pino.destination({ fd, sync: true }));
  const PinoPretty = requireFromHere('pino-pretty') as typeof PinoPrettyModule;
  const pretty = PinoPretty({
    destination: fd,
    sync: true,
    colorize: options.colorize ?? terminal,
    translateTime: PRETTY_TIME_FORMAT,
    ignore: 'pid,hostname',
    // one line per entry, fields after the message: a grep for a Call-ID finds every line of the call
    singleLine: true,
  });
  return pino(settings, pretty);
}

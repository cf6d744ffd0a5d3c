/**
 * SIPp's per-message counts (`-trace_counts`, a `;`-separated CSV written into SIPp's working
 * directory as <scenario>_<pid>_counts.csv): one column per scenario line and counter, named
 * `<index>_<message>_<counter>` (e.g. `0_REGISTER_Sent`, `2_503_Recv`, `3_200_Timeout`), one row
 * per statistics dump, cumulative. The overload trials read the 2xx and the 503 answers apart
 * from it, and the refresh trials (one SIPp call = many REGISTERs) their requests.
 */
import { parseSippDuration } from '../../harness/sipp-stats.js';

export interface SippCountsRow {
  /** Seconds since SIPp started (the ElapsedTime column). */
  readonly elapsedS: number;
  /** One value per column of `columns`. */
  readonly values: readonly number[];
}

export interface SippCounts {
  /** The counter columns, without CurrentTime and ElapsedTime. */
  readonly columns: readonly string[];
  readonly rows: readonly SippCountsRow[];
}

export interface CountsSummary {
  /** The scenario's first request (its method), undefined if it sends none. */
  readonly request: string | undefined;
  /** First transmissions of that request (every loop iteration counts). */
  readonly sent: number;
  /** Retransmissions of every request the scenario sends. */
  readonly retransmissions: number;
  /** 200s received for the first request (the first `_200_Recv` line after it). */
  readonly answered2xx: number;
  /** 503s received (every 503 line). */
  readonly refused503: number;
  /** Receive timeouts on any line. */
  readonly timeouts: number;
  /** Unexpected messages on any line. */
  readonly unexpected: number;
}

/** Largest CSV read (a dump is ~100 bytes per column; 10 dumps/s). */
export const MAX_COUNTS_CSV_BYTES = 8 * 1024 * 1024;

const COLUMN = /^(\d+)_([^_]+)_([A-Za-z]+)$/;

/** Parses the text of a -trace_counts CSV; undefined without a header. Unreadable rows are skipped. */
export function parseSippCounts(text: string): SippCounts | undefined {
  if (text.length > MAX_COUNTS_CSV_BYTES) text = text.slice(0, MAX_COUNTS_CSV_BYTES);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(';');
  if (header === undefined || header[0] !== 'CurrentTime' || header[1] !== 'ElapsedTime') return undefined;
  const columns = header.slice(2).filter((c) => c !== '');
  const rows: SippCountsRow[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(';');
    const elapsedMs = parseSippDuration(cells[1]);
    if (elapsedMs === undefined) continue;
    const values = columns.map((_, i) => {
      const v = Number(cells[i + 2]);
      return Number.isFinite(v) ? v : 0;
    });
    rows.push({ elapsedS: elapsedMs / 1000, values });
  }
  return { columns, rows };
}

interface Column {
  readonly position: number;
  readonly index: number;
  readonly message: string;
  readonly counter: string;
}

function columnsOf(c: SippCounts): Column[] {
  const out: Column[] = [];
  c.columns.forEach((name, position) => {
    const m = COLUMN.exec(name);
    if (m !== null) out.push({ position, index: Number(m[1]), message: m[2] ?? '', counter: m[3] ?? '' });
  });
  return out;
}

function firstRequest(cols: readonly Column[]): Column | undefined {
  return cols.filter((k) => k.counter === 'Sent' && !/^\d+$/.test(k.message)).sort((a, b) => a.index - b.index)[0];
}

/** The final counters, read as the summary above. */
export function summarizeCounts(c: SippCounts): CountsSummary {
  const last = c.rows[c.rows.length - 1]?.values ?? [];
  const cols = columnsOf(c);
  const value = (k: Column | undefined): number => (k === undefined ? 0 : (last[k.position] ?? 0));
  const sum = (pred: (k: Column) => boolean): number => cols.filter(pred).reduce((a, k) => a + value(k), 0);
  const req = firstRequest(cols);
  const ok =
    req === undefined
      ? undefined
      : cols.filter((k) => k.message === '200' && k.counter === 'Recv' && k.index > req.index).sort((a, b) => a.index - b.index)[0];
  return {
    request: req?.message,
    sent: value(req),
    retransmissions: sum((k) => k.counter === 'Retrans' && !/^\d+$/.test(k.message)),
    answered2xx: value(ok),
    refused503: sum((k) => k.message === '503' && k.counter === 'Recv'),
    timeouts: sum((k) => k.counter === 'Timeout'),
    unexpected: sum((k) => k.counter === 'Unexp'),
  };
}

/**
 * Seconds until the scenario's first request had been sent `n` times, interpolated between
 * dumps; undefined if it never was.
 */
export function sentSeconds(c: SippCounts, n: number): number | undefined {
  const req = firstRequest(columnsOf(c));
  if (req === undefined) return undefined;
  let prev: { t: number; v: number } | undefined;
  for (const row of c.rows) {
    const v = row.values[req.position] ?? 0;
    if (v >= n) {
      if (prev === undefined || v === prev.v) return row.elapsedS;
      return prev.t + ((n - prev.v) / (v - prev.v)) * (row.elapsedS - prev.t);
    }
    prev = { t: row.elapsedS, v };
  }
  return undefined;
}

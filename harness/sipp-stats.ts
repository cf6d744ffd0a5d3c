/**
 * Parsing of SIPp's statistics: the `-trace_stat` CSV (`;`-separated, one header row, one
 * row per dump; the last row holds the final cumulative counters) and, as a fallback, the
 * `-trace_screen` dump.
 */

export interface SippStats {
  readonly totalCallsCreated: number;
  readonly incomingCalls: number;
  readonly outgoingCalls: number;
  readonly successfulCalls: number;
  readonly failedCalls: number;
  /** Calls still running when the stats were dumped. */
  readonly currentCalls: number;
  readonly retransmissions: number;
  readonly outOfCallMessages: number;
  readonly deadCallMessages: number;
  /** Every cumulative Failed* counter that is non-zero, e.g. { FailedUnexpectedMessage: 3 }. */
  readonly failureCauses: Readonly<Record<string, number>>;
  /** Average of response time 1 (the rtd="true" mark), in ms (SIPp ticks in ~4 ms steps). */
  readonly responseTimeMs: number | undefined;
  /** Average call length in ms. */
  readonly callLengthMs: number | undefined;
  /** Cumulative call rate SIPp computed (calls/s). */
  readonly callRate: number | undefined;
  /** The final row, column name -> raw value. */
  readonly raw: Readonly<Record<string, string>>;
}

/** Largest CSV accepted (SIPp writes ~1 KiB per dump; 1 dump/s). */
export const MAX_STATS_CSV_BYTES = 8 * 1024 * 1024;

/** Parses the text of a -trace_stat CSV; undefined when there is no data row. */
export function parseSippStatCsv(text: string): SippStats | undefined {
  if (text.length > MAX_STATS_CSV_BYTES) text = text.slice(-MAX_STATS_CSV_BYTES);
  const rows = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = rows.find((r) => r.startsWith('StartTime;'));
  const last = rows[rows.length - 1];
  if (header === undefined || last === undefined || last === header) return undefined;
  const names = header.split(';');
  const values = last.split(';');
  const raw: Record<string, string> = {};
  names.forEach((name, i) => {
    if (name !== '') raw[name] = values[i] ?? '';
  });
  const num = (key: string): number => {
    const v = Number(raw[key]);
    return Number.isFinite(v) ? v : 0;
  };
  const failureCauses: Record<string, number> = {};
  for (const name of names) {
    const m = /^(Failed\w+)\(C\)$/.exec(name);
    if (m?.[1] !== undefined && m[1] !== 'FailedCall' && num(name) > 0) failureCauses[m[1]] = num(name);
  }
  const rate = Number(raw['CallRate(C)']);
  return {
    totalCallsCreated: num('TotalCallCreated'),
    incomingCalls: num('IncomingCall(C)'),
    outgoingCalls: num('OutgoingCall(C)'),
    successfulCalls: num('SuccessfulCall(C)'),
    failedCalls: num('FailedCall(C)'),
    currentCalls: num('CurrentCall'),
    retransmissions: num('Retransmissions(C)'),
    outOfCallMessages: num('OutOfCallMsgs(C)'),
    deadCallMessages: num('DeadCallMsgs(C)'),
    failureCauses,
    responseTimeMs: parseSippDuration(raw['ResponseTime1(C)']),
    callLengthMs: parseSippDuration(raw['CallLength(C)']),
    callRate: Number.isFinite(rate) ? rate : undefined,
    raw,
  };
}

/** SIPp durations are `HH:MM:SS:uuuuuu` (or `HH:MM:SS`); returns milliseconds. */
export function parseSippDuration(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+):(\d{2}):(\d{2})(?::(\d{1,6}))?$/.exec(value.trim());
  if (m === null) return undefined;
  const [, h, min, s, us] = m;
  const micros = us === undefined ? 0 : Number(us.padEnd(6, '0'));
  return (Number(h) * 3600 + Number(min) * 60 + Number(s)) * 1000 + micros / 1000;
}

export interface SippScreenCounts {
  readonly successfulCalls: number;
  readonly failedCalls: number;
}

/** Cumulative "Successful call" / "Failed call" counters from the last screen dump. */
export function parseSippScreen(text: string): SippScreenCounts | undefined {
  const cumulative = (label: string): number | undefined => {
    const re = new RegExp(`^\\s*${label}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`, 'gm');
    let last: number | undefined;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) last = Number(m[1]);
    return last;
  };
  const ok = cumulative('Successful call');
  const failed = cumulative('Failed call');
  if (ok === undefined || failed === undefined) return undefined;
  return { successfulCalls: ok, failedCalls: failed };
}

/** One -trace_stat dump (use `-fd 100ms` for a fine series). */
export interface SippStatPoint {
  /** Seconds since the run started (from the dump's CurrentTime - StartTime). */
  readonly elapsedS: number;
  readonly totalCallsCreated: number;
  readonly successfulCalls: number;
  readonly failedCalls: number;
}

/** Every row of a -trace_stat CSV as a time series (rows it cannot read are skipped). */
export function parseSippStatSeries(text: string): SippStatPoint[] {
  if (text.length > MAX_STATS_CSV_BYTES) text = text.slice(0, MAX_STATS_CSV_BYTES);
  const rows = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = rows[0]?.startsWith('StartTime;') === true ? rows[0].split(';') : undefined;
  if (header === undefined) return [];
  const col = (name: string): number => header.indexOf(name);
  const iStart = col('StartTime');
  const iNow = col('CurrentTime');
  const iCreated = col('TotalCallCreated');
  const iOk = col('SuccessfulCall(C)');
  const iFailed = col('FailedCall(C)');
  const out: SippStatPoint[] = [];
  for (const row of rows.slice(1)) {
    const v = row.split(';');
    const start = epochOf(v[iStart]);
    const now = epochOf(v[iNow]);
    if (start === undefined || now === undefined) continue;
    out.push({
      elapsedS: now - start,
      totalCallsCreated: Number(v[iCreated]) || 0,
      successfulCalls: Number(v[iOk]) || 0,
      failedCalls: Number(v[iFailed]) || 0,
    });
  }
  return out;
}

/**
 * Seconds SIPp took to create `calls` calls, interpolated between dumps; undefined if it
 * never created them all.
 */
export function creationSeconds(series: readonly SippStatPoint[], calls: number): number | undefined {
  let prev: SippStatPoint | undefined;
  for (const p of series) {
    if (p.totalCallsCreated >= calls) {
      if (prev === undefined || p.totalCallsCreated === prev.totalCallsCreated) return p.elapsedS;
      const frac = (calls - prev.totalCallsCreated) / (p.totalCallsCreated - prev.totalCallsCreated);
      return prev.elapsedS + frac * (p.elapsedS - prev.elapsedS);
    }
    prev = p;
  }
  return undefined;
}

/** "2026-11-21\t11:40:21.518029\t1795261221.518029" -> 1795261221.518029 */
function epochOf(cell: string | undefined): number | undefined {
  const last = cell?.split('\t').pop();
  const v = Number(last);
  return last !== undefined && last !== '' && Number.isFinite(v) ? v : undefined;
}

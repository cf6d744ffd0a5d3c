/**
 * Garbage and floods are counted, not logged line by line: the first occurrence of each kind of
 * problem is logged (with one example), later ones only counted; the counters go to /api/status.
 * The number of kinds is bounded by the caller's vocabulary (string literal unions).
 */
export interface ProblemLogger {
  warn(obj: object, msg: string): void;
}

/** Kinds tracked at most (a bound in case a caller ever passes computed kinds). */
const MAX_KINDS = 64;

export class ProblemLog {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly log: ProblemLogger | undefined,
    private readonly area: string,
  ) {}

  /** Counts one `kind`; logs it when first seen. True when this was the first. */
  note(kind: string, detail: object = {}): boolean {
    const n = this.counts.get(kind);
    if (n !== undefined) {
      this.counts.set(kind, n + 1);
      return false;
    }
    if (this.counts.size >= MAX_KINDS) kind = 'other';
    const m = this.counts.get(kind);
    this.counts.set(kind, (m ?? 0) + 1);
    if (m !== undefined) return false;
    this.log?.warn({ ...detail, problem: kind }, `${this.area}: ${kind} (logged once; counted in /api/status)`);
    return true;
  }

  counters(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
